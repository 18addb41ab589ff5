import FieldlinkCore
import FieldlinkModbus
import Logging
import Synchronization
import Testing

/// What the command desk takes from MQTT and where it puts it: before any bus sees a command.
@Suite(.timeLimit(.minutes(1)))
struct CommandDeskTests {
    static func desk(_ extra: String = "") throws -> (CommandDesk, WriteInbox) {
        let config = try ConfigLoader(families: [ModbusFamily()]).parse(yaml: """
            gateway: {id: gw}
            mqtt: {url: mqtt://127.0.0.1}
            buses: [{name: rs485, type: modbus-rtu, port: /dev/ttyUSB0}]
            devices:
              - {name: hp, bus: rs485, unit: 1, interval: 1s\(extra), points: [{name: sp, address: 0, writable: true}, {name: t, address: 1}]}
              - {name: meter, bus: rs485, unit: 2, interval: 1s, points: [{name: v, address: 0}]}
            """, file: "/nonexistent/fieldlink.yaml")
        let desk = CommandDesk(logger: Logger(label: "test"))
        let inbox = WriteInbox()
        desk.update(devices: config.devices, inboxes: ["rs485": inbox])
        return (desk, inbox)
    }

    @Test func exactlyTheWritablePointsTopicsAreSubscribed() throws {
        let (desk, _) = try Self.desk()
        #expect(desk.subscriptions == ["fieldlink/gw/hp/set", "fieldlink/gw/hp/set/sp"])
    }

    @Test func aRetainedCommandIsIgnoredUnlessTheDeviceAcceptsThem() throws {
        let (desk, inbox) = try Self.desk()
        #expect(desk.handle(InboundMessage(topic: "fieldlink/gw/hp/set/sp", payload: Array("5".utf8), retained: true)) { _ in })
        #expect(inbox.take().isEmpty)
        let (accepting, acceptingInbox) = try Self.desk(", accept_retained: true")
        #expect(accepting.handle(InboundMessage(topic: "fieldlink/gw/hp/set/sp", payload: Array("5".utf8), retained: true)) { _ in })
        #expect(acceptingInbox.take().count == 1)
    }

    @Test func theDeadlineIsTheMessageExpiryWhenGivenElseCommandMaxAge() throws {
        let (desk, inbox) = try Self.desk(", command_max_age: 30s")
        let now = ContinuousClock.now
        _ = desk.handle(InboundMessage(topic: "fieldlink/gw/hp/set/sp", payload: Array("5".utf8)), now: now) { _ in }
        _ = desk.handle(InboundMessage(topic: "fieldlink/gw/hp/set/sp", payload: Array("6".utf8), expiry: .seconds(2)), now: now) { _ in }
        #expect(inbox.take().map(\.request.deadline) == [now + .seconds(30), now + .seconds(2)])
    }

    @Test func answersGoToTheResponseTopicWithCorrelationDataAndToResultTopics() throws {
        let (desk, inbox) = try Self.desk(", command_results: true")
        let answers = Mutex<[OutboundMessage]>([])
        _ = desk.handle(InboundMessage(topic: "fieldlink/gw/hp/set/sp", payload: Array("21".utf8), responseTopic: "me/replies", correlationData: [7, 8])) { messages in
            answers.withLock { $0 += messages }
        }
        let job = try #require(inbox.take().first)
        #expect(job.request.values.map(\.value) == [.int(21)])
        job.reply([PointWriteResult(point: "sp", value: .int(21), outcome: .written(readBack: .uint(21), readBackError: nil))])
        let sent = answers.withLock { $0 }
        #expect(sent.map(\.topic) == ["me/replies", "fieldlink/gw/hp/set/sp/result"])
        #expect(sent.first?.correlationData == [7, 8])
        #expect(sent.allSatisfy { String(decoding: $0.payload, as: UTF8.self) == #"{"ok":true,"point":"sp","value":21}"# && !$0.retain })
    }

    @Test func aPayloadThatIsNotACommandIsRefusedByTheBusOwnerSoItIsCounted() throws {
        let (desk, inbox) = try Self.desk()
        _ = desk.handle(InboundMessage(topic: "fieldlink/gw/hp/set", payload: Array("[1, 2]".utf8))) { _ in }
        _ = desk.handle(InboundMessage(topic: "fieldlink/gw/hp/set/sp", payload: Array("{\"sp\": 1}".utf8))) { _ in }
        let jobs = inbox.take()
        #expect(jobs.map { $0.request.refusal != nil } == [true, true])
        #expect(jobs.map { $0.request.values.first?.point } == ["*", "sp"])
        // An empty message is what clears a retained command on the broker: ignored, not a command.
        #expect(desk.handle(InboundMessage(topic: "fieldlink/gw/hp/set/sp", payload: [])) { _ in })
        #expect(inbox.take().isEmpty)
    }

    @Test func payloadsAreJSONOrPlainText() throws {
        #expect(try CommandPayload.scalar(Array("42.5".utf8)).get() == .double(42.5))
        #expect(try CommandPayload.scalar(Array(" 7\n".utf8)).get() == .int(7))
        #expect(try CommandPayload.scalar(Array("true".utf8)).get() == .bool(true))
        #expect(try CommandPayload.scalar(Array(#""heat""#.utf8)).get() == .string("heat"))
        #expect(try CommandPayload.scalar(Array("heat".utf8)).get() == .string("heat"))
        let object = try CommandPayload.object(Array(#"{"b": false, "a": 1.5}"#.utf8)).get()
        #expect(object.map(\.point) == ["a", "b"] && object.map(\.value) == [.double(1.5), .bool(false)])
    }
}
