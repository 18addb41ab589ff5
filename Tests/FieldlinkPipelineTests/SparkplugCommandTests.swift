import FieldlinkCore
import FieldlinkPipeline
import Logging
import Synchronization
import SwiftProtobuf
import Testing

@testable import FieldlinkPayload

/// Sparkplug B DCMD into the write path: metrics by name or by the node's alias become the same
/// write request a `set` topic makes, on the device's bus inbox.
@Suite struct SparkplugCommandTests {
    static func writableDevice() -> DeviceConfig {
        var sp = point("setpoint", kind: .float32)
        sp.write = WriteLimits(min: 5, max: 30)
        var relay = point("relay", kind: .bool)
        relay.write = WriteLimits()
        return device("hp", format: .sparkplugb, points: [point("v"), sp, relay])
    }

    static func dcmd(_ metrics: [(name: String?, alias: UInt64?, set: (inout SparkplugB_Payload.Metric) -> Void)]) throws -> [UInt8] {
        var payload = SparkplugB_Payload()
        payload.metrics = metrics.map { entry in
            var metric = SparkplugB_Payload.Metric()
            if let name = entry.name { metric.name = name }
            if let alias = entry.alias { metric.alias = alias }
            entry.set(&metric)
            return metric
        }
        return try payload.serializedBytes()
    }

    /// A desk that knows the node's DCMD topics, and the inbox of the device's bus.
    static func desk() -> (CommandDesk, WriteInbox) {
        let device = writableDevice()
        let node = SparkplugEdgeNode(config: SparkplugConfig(groupID: "g", edgeNodeID: "n"), devices: [device], stateDirectory: nil)
        let desk = CommandDesk(formats: [node.commandFormat], logger: Logger(label: "test"))
        let inbox = WriteInbox()
        desk.update(devices: [device], inboxes: ["bus": inbox])
        return (desk, inbox)
    }

    @Test func aDCMDBecomesAWriteRequestOnTheDevicesBus() throws {
        let (desk, inbox) = Self.desk()
        #expect(desk.subscriptions.contains("spBv1.0/g/DCMD/n/hp"))

        // The relay by name, the setpoint by its alias (2: v is 1, setpoint 2, relay 3 on this node).
        let payload = try Self.dcmd([
            ("relay", nil, { $0.datatype = SparkplugEncoding.DataType.boolean.rawValue; $0.booleanValue = true }),
            (nil, 2, { $0.datatype = SparkplugEncoding.DataType.float.rawValue; $0.floatValue = 21.5 }),
        ])
        let answered = Mutex<[OutboundMessage]?>(nil)
        #expect(desk.handle(InboundMessage(topic: "spBv1.0/g/DCMD/n/hp", payload: payload)) { messages in answered.withLock { $0 = messages } })
        let job = try #require(inbox.take().first)
        #expect(job.request.device == "hp")
        #expect(job.request.values.map(\.point) == ["relay", "setpoint"])
        #expect(job.request.values.map(\.value) == [.bool(true), .double(21.5)])
        #expect(job.request.source == "spBv1.0/g/DCMD/n/hp")
    }

    @Test func anUnknownAliasIsRefusedWithoutAWrite() throws {
        let (desk, inbox) = Self.desk()
        let payload = try Self.dcmd([(nil, 99, { $0.datatype = SparkplugEncoding.DataType.int32.rawValue; $0.intValue = 1 })])
        #expect(desk.handle(InboundMessage(topic: "spBv1.0/g/DCMD/n/hp", payload: payload, responseTopic: "r", correlationData: [1])) { _ in })
        // Refused by the bus owner (so audited and counted), with the reason; nothing to write.
        let job = try #require(inbox.take().first)
        #expect(job.request.refusal == "metric alias 99 is not one of device hp's")
        #expect(job.request.values.map(\.value) == [.string("<\(payload.count) bytes>")])
        #expect(!desk.handle(InboundMessage(topic: "spBv1.0/g/DCMD/n/other", payload: payload)) { _ in }, "not a command topic")
    }
}
