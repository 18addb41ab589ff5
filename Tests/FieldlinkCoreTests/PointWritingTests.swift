import FieldlinkCore
import Testing

/// The read path backwards: what a command's value becomes on the wire, or why it is refused.
@Suite(.timeLimit(.minutes(1)))
struct PointWritingTests {
    static func refused(_ result: Result<Value, ConversionError>) -> Bool {
        if case .failure = result { return true }
        return false
    }

    static let tenths = PointConversion(transform: LinearTransform(scale: 0.1, offset: 0))

    @Test(arguments: [
        (Value.double(42.5), ValueKind.uint(bits: 16), Value.uint(425)),
        (.int(21), .int(bits: 16), .int(210)),
        (.double(-3.2), .int(bits: 16), .int(-32)),
        (.double(230.1), .float32, .double(2301)),
    ])
    func aScaledValueBecomesTheRawThatReadsBackAsIt(value: Value, kind: ValueKind, raw: Value) throws {
        let inverted = try Self.tenths.invert(value, kind: kind).get()
        #expect(inverted == raw)
        #expect(try Self.tenths.apply(inverted).get().number == value.number)
    }

    @Test func aValueBetweenTwoStepsOfTheScaleIsRefusedNotRounded() {
        let result = Self.tenths.invert(.double(42.55), kind: .uint(bits: 16))
        guard case .failure(let error) = result else { Issue.record("42.55 was accepted into scale 0.1: \(result)"); return }
        #expect(error.description.contains("cannot be written exactly"))
    }

    @Test(arguments: [
        (Value.int(70_000), ValueKind.uint(bits: 16)), (.int(-1), .uint(bits: 16)), (.int(32_768), .int(bits: 16)),
        (.int(-32_769), .int(bits: 16)), (.double(4_294_967_296), .uint(bits: 32)),
    ])
    func aValueOutsideTheRegistersRangeIsRefused(value: Value, kind: ValueKind) {
        let result = PointConversion().invert(value, kind: kind)
        guard case .failure(let error) = result else { Issue.record("\(value) fitted \(kind): \(result)"); return }
        #expect(error.description.contains("out of range"))
    }

    @Test func anOffsetIsTakenOffBeforeTheScaleIsUndone() throws {
        // value = raw * 0.5 - 40: 21.5 °C is raw 123.
        let conversion = PointConversion(transform: LinearTransform(scale: 0.5, offset: -40))
        #expect(try conversion.invert(.double(21.5), kind: .uint(bits: 16)).get() == .uint(123))
        #expect(Self.refused(conversion.invert(.double(21.25), kind: .uint(bits: 16))))
    }

    @Test func aWholeNumberIntoAnIntegerRegisterNeedsNoFraction() throws {
        #expect(Self.refused(PointConversion().invert(.double(1.5), kind: .int(bits: 32))))
        #expect(try PointConversion().invert(.double(7), kind: .int(bits: 32)).get() == .int(7))
    }

    @Test func aFloat32TakesWhatAFloat32ReadsBackAs() throws {
        #expect(try PointConversion().invert(.double(21.3), kind: .float32).get() == .double(21.3))
        #expect(Self.refused(PointConversion().invert(.double(1e39), kind: .float32)))
    }

    @Test func aMapTakesItsLabelsOnly() throws {
        let modes = PointConversion(labels: [0: "off", 1: "heat", 2: "cool"])
        #expect(try modes.invert(.string("cool"), kind: .uint(bits: 16)).get() == .uint(2))
        #expect(Self.refused(modes.invert(.string("auto"), kind: .uint(bits: 16))))
        #expect(Self.refused(modes.invert(.int(1), kind: .uint(bits: 16))))
    }

    @Test func aBoolTakesTrueFalseOrZeroAndOne() throws {
        #expect(try PointConversion().invert(.bool(true), kind: .bool).get() == .bool(true))
        #expect(try PointConversion().invert(.int(0), kind: .bool).get() == .bool(false))
        #expect(Self.refused(PointConversion().invert(.int(2), kind: .bool)))
        #expect(Self.refused(PointConversion().invert(.string("on"), kind: .bool)))
    }

    @Test func wrongTypesAreRefused() {
        #expect(Self.refused(PointConversion().invert(.string("hot"), kind: .int(bits: 16))))
        #expect(Self.refused(PointConversion().invert(.bool(true), kind: .float32)))
    }

    @Test func limitsAreInEngineeringUnits() {
        let limits = WriteLimits(min: 5, max: 30)
        #expect(limits.refusal(of: .double(30)) == nil)
        #expect(limits.refusal(of: .double(30.5))?.contains("above the point's max 30") == true)
        #expect(limits.refusal(of: .int(4))?.contains("below the point's min 5") == true)
    }
}
