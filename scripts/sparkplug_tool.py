#!/usr/bin/env python3
"""An independent Sparkplug B peer for the tests: Eclipse Tahu's Python bindings (the spec's
protobuf schema) and paho-mqtt, nothing from fieldlink.

  listen HOST PORT       print every spBv1.0/# message as one JSON line (topic, seq, timestamp,
                         metrics with name/alias/datatype/value/is_null/properties); resubscribes
                         after the broker comes back
  rebirth HOST PORT GROUP NODE
                         publish an NCMD with "Node Control/Rebirth" = true
  dcmd HOST PORT GROUP NODE DEVICE METRIC DATATYPE VALUE
                         publish a DCMD setting one metric (METRIC a name, or a number: its alias)
"""
import json
import sys
import time

import paho.mqtt.client as mqtt
from tahu import sparkplug_b_pb2

VALUE_FIELDS = ("int_value", "long_value", "float_value", "double_value", "boolean_value", "string_value", "bytes_value")


def property_value(value):
    field = value.WhichOneof("value")
    return getattr(value, field) if field else None


def metric_json(metric):
    out = {}
    if metric.HasField("name"):
        out["name"] = metric.name
    if metric.HasField("alias"):
        out["alias"] = metric.alias
    if metric.HasField("timestamp"):
        out["timestamp"] = metric.timestamp
    if metric.HasField("datatype"):
        out["datatype"] = metric.datatype
    if metric.is_null:
        out["is_null"] = True
    field = metric.WhichOneof("value")
    if field:
        value = getattr(metric, field)
        out["field"] = field
        out["value"] = value.hex() if isinstance(value, bytes) else value
    if metric.HasField("properties"):
        out["properties"] = {k: property_value(v) for k, v in zip(metric.properties.keys, metric.properties.values)}
    return out


def listen(host, port):
    def on_connect(client, userdata, flags, reason, properties=None):
        client.subscribe("spBv1.0/#", qos=1)

    def on_message(client, userdata, message):
        payload = sparkplug_b_pb2.Payload()
        payload.ParseFromString(message.payload)
        line = {"topic": message.topic, "qos": message.qos, "retain": bool(message.retain), "size": len(message.payload),
                "metrics": [metric_json(m) for m in payload.metrics]}
        if payload.HasField("seq"):
            line["seq"] = payload.seq
        if payload.HasField("timestamp"):
            line["timestamp"] = payload.timestamp
        print(json.dumps(line), flush=True)

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_connect = on_connect
    client.on_message = on_message
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    client.connect(host, port)
    print(json.dumps({"listening": True}), flush=True)
    client.loop_forever(retry_first_connection=True)


def rebirth(host, port, group, node):
    payload = sparkplug_b_pb2.Payload()
    payload.timestamp = int(time.time() * 1000)
    metric = payload.metrics.add()
    metric.name = "Node Control/Rebirth"
    metric.datatype = 11  # Boolean
    metric.boolean_value = True
    publish(host, port, f"spBv1.0/{group}/NCMD/{node}", payload)


def publish(host, port, topic, payload):
    """One QoS 0 publish of a Sparkplug payload, waited for, then a clean disconnect."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    info = client.publish(topic, payload.SerializeToString(), qos=0)
    info.wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def dcmd(host, port, group, node, device, name, datatype, value):
    """A DCMD setting one metric (by name, or by alias when `name` is a number), as a host sends it."""
    payload = sparkplug_b_pb2.Payload()
    payload.timestamp = int(time.time() * 1000)
    metric = payload.metrics.add()
    if name.isdigit():
        metric.alias = int(name)
    else:
        metric.name = name
    metric.datatype = int(datatype)
    if metric.datatype == 11:
        metric.boolean_value = value == "true"
    elif metric.datatype == 9:
        metric.float_value = float(value)
    elif metric.datatype == 10:
        metric.double_value = float(value)
    elif metric.datatype in (4, 8):
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    else:
        metric.int_value = int(value) & 0xFFFFFFFF
    publish(host, port, f"spBv1.0/{group}/DCMD/{node}/{device}", payload)


if __name__ == "__main__":
    if sys.argv[1] == "listen":
        listen(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "dcmd":
        dcmd(sys.argv[2], int(sys.argv[3]), *sys.argv[4:10])
    elif sys.argv[1] == "rebirth":
        rebirth(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        sys.exit(__doc__)
