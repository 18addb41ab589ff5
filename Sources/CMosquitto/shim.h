#ifndef FIELDLINK_CMOSQUITTO_H
#define FIELDLINK_CMOSQUITTO_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
/* The connection thread polls the broker's socket beside an eventfd the ring writes to. */
#include <poll.h>
#include <sys/eventfd.h>
#endif
