#ifndef FIELDLINK_CMOSQUITTO_H
#define FIELDLINK_CMOSQUITTO_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
