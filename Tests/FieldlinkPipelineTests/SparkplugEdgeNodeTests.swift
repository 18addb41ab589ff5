@testable import FieldlinkCore
import FieldlinkPipeline
import Foundation
import SwiftProtobuf
import Testing

@testable import FieldlinkPayload

/// A device built by hand (`TestOptions`: Fixtures.swift): the node only needs names, units, transforms and kinds.
private func device(_ name: String, format: PayloadFormat = .sparkplugb, points: [(String, ValueKind?, LinearTransform)]) -> DeviceConfig {
    let location = ConfigLocation(file: "test.yaml", line: 1, column: 1)
    return DeviceConfig(name: name, bus: "bus", interval: .seconds(1), topic: "t/\(name)", qos: 0, retain: false, format: format,
                        options: TestOptions(), points: points.map { name, kind, transform in
                            PointConfig(name: name, unit: name == "v" ? "V" : nil, transform: transform, options: TestOptions(kind: kind),
                                        location: location)
                        }, location: location)
}

@Suite struct SparkplugEdgeNodeTests {
    let config = SparkplugConfig(groupID: "g", edgeNodeID: "n")

    func decode(_ bytes: [UInt8]) throws -> SparkplugB_Payload { try SparkplugB_Payload(serializedBytes: bytes) }

    @Test func birthsDeclareDatatypesAliasesAndUnitsThenDataUsesAliases() throws {
        let node = SparkplugEdgeNode(config: config, devices: [
            device("m", points: [("v", .float32, .identity), ("i", .int(bits: 16), .identity), ("e", .uint(bits: 32), LinearTransform(scale: 0.1, offset: 0)),
                                 ("text", nil, .identity)]),
            device("json-only", format: .json, points: [("x", .bool, .identity)]),
        ], stateDirectory: nil)
        _ = node.will()
        let births = node.births()
        #expect(births.map(\.topic) == ["spBv1.0/g/NBIRTH/n", "spBv1.0/g/DBIRTH/n/m"])
        let dbirth = try decode(births[1].payload)
        #expect(dbirth.seq == 1)
        #expect(dbirth.metrics.map(\.name) == ["v", "i", "e", "text", "fieldlink/seq"])
        // float32 -> Float, int16 -> Int16, a scaled register -> Double, undeclared and unseen -> Double.
        #expect(dbirth.metrics.map(\.datatype) == [9, 2, 10, 10, 8])
        // Nothing polled yet: every metric is born null ("not read yet"), with its unit.
        let v = dbirth.metrics[0].properties
        #expect(dbirth.metrics[0].isNull && zip(v.keys, v.values).contains { $0 == "engUnit" && $1.stringValue == "V" })
        #expect(Set(dbirth.metrics.map(\.alias)).count == 5)

        let reading = Reading(device: "m", timestamp: 1_700_000_000_123, sequence: 7,
                              values: [("v", .double(230.1)), ("i", .int(-42)), ("e", .double(1234.5))], errors: [("text", "timeout")])
        let encoder = SparkplugDataEncoder(node: node) { _ in Issue.record("no birth expected") }
        let data = try decode(encoder.encode(reading))
        #expect(!data.hasSeq, "seq is stamped when sent, not when encoded")
        #expect(data.metrics.allSatisfy { !$0.hasName && $0.timestamp == 1_700_000_000_123 })
        #expect(data.metrics[0].floatValue == Float(230.1))
        #expect(Int32(bitPattern: data.metrics[1].intValue) == -42)
        #expect(data.metrics[2].doubleValue == 1234.5)
        #expect(data.metrics[3].isNull && data.metrics[3].properties.keys == ["Quality", "Error"])
        #expect(data.metrics[3].properties.values[1].stringValue == "timeout")
        #expect(data.metrics[4].longValue == 7)
    }

    @Test func seqIsStampedInSendOrderAndWrapsAfter255() throws {
        let node = SparkplugEdgeNode(config: config, devices: [device("m", points: [("x", .uint(bits: 16), .identity)])], stateDirectory: nil)
        _ = node.will()
        #expect(node.births().count == 2)  // seq 0 and 1
        let encoder = SparkplugDataEncoder(node: node) { _ in }
        let payload = encoder.encode(Reading(device: "m", timestamp: 1, sequence: 1, values: [("x", .uint(5))], errors: []))
        var seqs: [UInt64] = []
        for _ in 0..<300 {
            seqs.append(try decode(node.stamp(topic: "spBv1.0/g/DDATA/n/m", payload: payload)!).seq)
        }
        #expect(Array(seqs.prefix(3)) == [2, 3, 4])
        #expect(seqs[253] == 255 && seqs[254] == 0)
        #expect(node.stamp(topic: "fieldlink/other", payload: payload) == nil)
    }

    @Test func aBatchIsOneDataMessageWithEveryReading() throws {
        let node = SparkplugEdgeNode(config: config, devices: [device("m", points: [("x", .uint(bits: 16), .identity)])], stateDirectory: nil)
        let encoder = SparkplugDataEncoder(node: node) { _ in }
        let parts = (1...3).map { Reading(device: "m", timestamp: Int64($0), sequence: UInt64($0), values: [("x", .uint(UInt64($0) * 10))], errors: []) }
        let batch = try decode(encoder.encode(batch: parts))
        #expect(batch.metrics.filter { $0.alias == 1 }.map(\.intValue) == [10, 20, 30])
        #expect(batch.metrics.filter { $0.alias == 1 }.map(\.timestamp) == [1, 2, 3])
    }

    @Test func bdSeqNumbersSessionsAndSurvivesARestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func bdSeq(_ message: OutboundMessage) throws -> UInt64 { try decode(message.payload).metrics.first { $0.name == "bdSeq" }!.longValue }

        let node = SparkplugEdgeNode(config: config, devices: [], stateDirectory: directory)
        #expect(try bdSeq(node.will()) == 0)
        #expect(try bdSeq(node.will()) == 0, "a CONNECT that never got to NBIRTH used no number")
        #expect(try bdSeq(node.births()[0]) == 0)
        #expect(try bdSeq(node.will()) == 1)
        _ = node.births()
        let restarted = SparkplugEdgeNode(config: config, devices: [], stateDirectory: directory)
        #expect(try bdSeq(restarted.will()) == 2)
    }

    @Test func aDeadDeviceIsBornAgainBeforeItsNextData() throws {
        let node = SparkplugEdgeNode(config: config, devices: [device("m", points: [("x", .uint(bits: 16), .identity)])], stateDirectory: nil)
        let partial = DeviceHealth(device: "m", ok: false, since: 100, lastSuccess: 100, failedPolls: 1, error: "x failed")
        #expect(node.deviceDeath(partial) == nil, "a poll that read something is not a death")
        let death = try #require(node.deviceDeath(DeviceHealth(device: "m", ok: false, since: 200, lastSuccess: 100, failedPolls: 2, error: "timeout")))
        #expect(death.topic == "spBv1.0/g/DDEATH/n/m")
        nonisolated(unsafe) var births: [OutboundMessage] = []
        let encoder = SparkplugDataEncoder(node: node) { births.append($0) }
        _ = encoder.encode(Reading(device: "m", timestamp: 300, sequence: 3, values: [("x", .uint(1))], errors: []))
        #expect(births.map(\.topic) == ["spBv1.0/g/DBIRTH/n/m"])
        _ = encoder.encode(Reading(device: "m", timestamp: 400, sequence: 4, values: [("x", .uint(1))], errors: []))
        #expect(births.count == 1)
    }

    @Test func aDeviceTheNodeDoesNotDefineGivesNothing() {
        let node = SparkplugEdgeNode(config: config, devices: [device("m", points: [("x", .uint(bits: 16), .identity)])], stateDirectory: nil)
        let stray = node.messages(for: Reading(device: "removed", timestamp: 1, sequence: 1, values: [("x", .uint(1))], errors: []))
        #expect(stray.birth == nil && stray.data.isEmpty)
    }

    @Test func aReloadThatChangesMetricsAsksForARebirth() {
        let devices = [device("m", points: [("x", .uint(bits: 16), .identity)])]
        let node = SparkplugEdgeNode(config: config, devices: devices, stateDirectory: nil)
        _ = node.births()
        node.configure(devices: devices)
        #expect(!node.takeRebirthRequest(), "the same metrics need no rebirth")
        node.configure(devices: [device("m", points: [("x", .uint(bits: 16), .identity), ("y", .bool, .identity)])])
        #expect(node.takeRebirthRequest())
        #expect(!node.takeRebirthRequest(), "asked once")
    }

    @Test func onlyARebirthCommandAsksForBirths() throws {
        let node = SparkplugEdgeNode(config: config, devices: [], stateDirectory: nil)
        var command = SparkplugB_Payload()
        var metric = SparkplugB_Payload.Metric()
        metric.name = "Node Control/Rebirth"
        metric.booleanValue = true
        command.metrics = [metric]
        #expect(node.isRebirthCommand(try command.serializedBytes()))
        command.metrics[0].booleanValue = false
        #expect(!node.isRebirthCommand(try command.serializedBytes()))
        #expect(!node.isRebirthCommand([0xFF, 0x01]))
    }
}
