import FieldlinkCore
import FieldlinkPipeline
import SwiftProtobuf
import Testing

@testable import FieldlinkPayload

/// The Sparkplug B edge node as the pipeline and the MQTT connection see it: DDATA into the ring,
/// births, deaths and `seq` through the session.
@Suite struct SparkplugSessionTests {
    static let node = SparkplugConfig(groupID: "g", edgeNodeID: "n", dataQoS: 1)
    static let devices = [device("m", format: .sparkplugb, points: [point("v"), point("i", kind: .int(bits: 16))])]

    func decode(_ bytes: [UInt8]) throws -> SparkplugB_Payload { try SparkplugB_Payload(serializedBytes: bytes) }

    func bdSeq(_ message: OutboundMessage) throws -> UInt64? {
        try decode(message.payload).metrics.first { $0.name == "bdSeq" }?.longValue
    }

    func session(_ fixture: PipelineFixture) throws -> SparkplugSession {
        SparkplugSession(node: try #require(fixture.pipeline.sparkplug))
    }

    @Test func readingsGoAsDDATAAndAreNumberedWhenSentAfterTheBirths() throws {
        let fixture = try PipelineFixture(Self.devices, sparkplug: Self.node)
        #expect(fixture.ring.messages.isEmpty, "no /meta: the births describe Sparkplug devices")
        fixture.pipeline.deliver(reading("m", at: 1_000, [("v", .double(230.5)), ("i", .int(-3))]))
        let data = try #require(fixture.ring.messages.first)
        #expect(fixture.ring.messages.count == 1)
        #expect(data.topic == "spBv1.0/g/DDATA/n/m" && data.qos == 1 && !data.retain && data.contentType == "application/x-protobuf")
        #expect(try !decode(data.payload).hasSeq, "seq is the session's, stamped when sent")

        let session = try session(fixture)
        #expect(session.will().topic == "spBv1.0/g/NDEATH/n")
        let births = session.births()
        #expect(births.map(\.topic) == ["spBv1.0/g/NBIRTH/n", "spBv1.0/g/DBIRTH/n/m"])
        let dbirth = try decode(births[1].payload)
        #expect(dbirth.metrics.map(\.name) == ["v", "i", SparkplugEncoding.sequenceMetric])
        #expect(dbirth.metrics[0].doubleValue == 230.5, "a birth carries the last value")
        #expect(dbirth.metrics[2].longValue == 1, "and the reading's own seq from the pipeline")
        #expect(try births.map { try decode($0.payload).seq } == [0, 1])
        #expect(try decode(try #require(session.stamp(data))).seq == 2)
        #expect(session.stamp(OutboundMessage(topic: "fl/gw/status/m", payload: [1], qos: 1, retain: true)) == nil)
    }

    /// A device nothing could be read from dies (DDEATH, ahead of its status message); its next
    /// reading goes into the ring after a fresh DBIRTH.
    @Test func aDeadDeviceIsBornAgainAheadOfItsNextDataInTheRing() throws {
        let fixture = try PipelineFixture(Self.devices, sparkplug: Self.node)
        _ = try session(fixture).births()
        fixture.pipeline.deliver(reading("m", at: 1_000, [("v", .double(1)), ("i", .int(1))]))
        fixture.ring.clear()
        fixture.pipeline.healthChanged(DeviceHealth(device: "m", ok: false, since: 2_000, lastSuccess: 1_000, failedPolls: 1, error: "timeout"))
        fixture.pipeline.deliver(reading("m", at: 3_000, [("v", .double(2)), ("i", .int(2))]))
        fixture.pipeline.deliver(reading("m", at: 4_000, [("v", .double(3)), ("i", .int(3))]))
        #expect(fixture.ring.messages.map(\.topic) == [
            "spBv1.0/g/DDEATH/n/m", "fl/gw/status/m", "spBv1.0/g/DBIRTH/n/m", "spBv1.0/g/DDATA/n/m", "spBv1.0/g/DDATA/n/m",
        ])
        let rebirth = try decode(fixture.ring.messages[2].payload)
        #expect(rebirth.metrics.first?.doubleValue == 2, "born with the value that brought it back")
    }

    /// The will and the NBIRTH after it carry one `bdSeq`; a session that was born used its number
    /// up, and a restart (a new pipeline on the same state directory) does not reuse it.
    @Test func bdSeqNumbersSessionsAcrossReconnectsAndRestarts() throws {
        let fixture = try PipelineFixture(Self.devices, sparkplug: Self.node)
        let session = try session(fixture)
        #expect(try bdSeq(session.will()) == 0)
        #expect(try bdSeq(session.births()[0]) == 0)
        #expect(try bdSeq(session.farewell()[0]) == 0)
        #expect(try bdSeq(session.will()) == 1, "reconnect")
        _ = session.births()

        let restarted = SparkplugSession(node: SparkplugEdgeNode(config: Self.node, devices: Self.devices, stateDirectory: fixture.directory))
        #expect(try bdSeq(restarted.will()) == 2)
    }

    @Test func aRebirthCommandOrAReloadThatChangesMetricsBringsBirths() throws {
        let fixture = try PipelineFixture(Self.devices, sparkplug: Self.node)
        let session = try session(fixture)
        _ = session.births()
        #expect(session.subscriptions == ["spBv1.0/g/NCMD/n"])

        var command = SparkplugB_Payload()
        var rebirth = SparkplugB_Payload.Metric()
        rebirth.name = SparkplugEncoding.rebirthMetric
        rebirth.booleanValue = true
        command.metrics = [rebirth]
        let bytes: [UInt8] = try command.serializedBytes()
        #expect(session.received(topic: "spBv1.0/g/NCMD/n", payload: bytes).map(\.topic) == ["spBv1.0/g/NBIRTH/n", "spBv1.0/g/DBIRTH/n/m"])
        #expect(session.received(topic: "spBv1.0/g/DCMD/n/m", payload: bytes).isEmpty)

        fixture.pipeline.update(devices: Self.devices, statusTopic: "fl/gw/status")
        #expect(session.pending().isEmpty, "the same metrics need no rebirth")
        let more = [device("m", format: .sparkplugb, points: [point("v"), point("i", kind: .int(bits: 16)), point("f")])]
        fixture.pipeline.update(devices: more, statusTopic: "fl/gw/status")
        let births = session.pending()
        #expect(births.map(\.topic) == ["spBv1.0/g/NBIRTH/n", "spBv1.0/g/DBIRTH/n/m"])
        #expect(try decode(births[1].payload).metrics.map(\.name) == ["v", "i", "f", SparkplugEncoding.sequenceMetric])
        #expect(session.pending().isEmpty, "once")
    }
}
