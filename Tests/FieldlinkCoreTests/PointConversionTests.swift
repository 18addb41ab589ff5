import FieldlinkCore
import Testing

@Suite(.timeLimit(.minutes(1)))
struct PointConversionTests {
    // MARK: - precision

    @Test(arguments: [
        (Value.double(230.10000610351562), 1, Value.double(230.1)),
        (.double(49.987), 2, .double(49.99)),
        (.double(-0.125), 2, .double(-0.13)),  // half away from zero
        (.double(0.5), 0, .int(1)),
        (.double(-2.5), 0, .int(-3)),
        (.double(1_234.56), 0, .int(1_235)),
        (.double(1e300), 3, .double(1e300)),  // past 2^53 there are no decimals to round
        (.int(42), 2, .int(42)),  // integers are already exact
        (.uint(7), 0, .uint(7)),
        (.string("fault"), 1, .string("fault")),
        (.bool(true), 0, .bool(true)),
    ])
    func precisionRoundsToDecimalPlaces(raw: Value, places: Int, expected: Value) {
        #expect(LinearTransform(scale: 1, offset: 0, precision: places).apply(raw) == expected)
    }

    @Test func precisionAppliesAfterScaleAndOffset() {
        // 12345 * 0.001 + 0.0004 = 12.3454 -> 12.35 (2 places)
        #expect(LinearTransform(scale: 0.001, offset: 0.0004, precision: 2).apply(.uint(12_345)) == .double(12.35))
        #expect(LinearTransform(scale: 0.1, offset: 0, precision: 0).apply(.uint(2_306)) == .int(231))
    }

    @Test func withoutPrecisionEveryDigitStays() {
        #expect(LinearTransform(scale: 1, offset: 0).apply(.double(230.10000610351562)) == .double(230.10000610351562))
    }

    // MARK: - map

    static let status = PointConversion(labels: [0: "waiting", 1: "normal", 3: "fault", -1: "unknown"])

    @Test(arguments: [
        (Value.uint(1), "normal"), (.int(3), "fault"), (.int(-1), "unknown"), (.uint(0), "waiting"),
    ])
    func mapTurnsRawIntegersIntoLabels(raw: Value, label: String) {
        #expect(Self.status.apply(raw) == .success(.string(label)))
    }

    @Test func anUnmappedValueIsAnErrorNamingTheValue() {
        #expect(Self.status.apply(.uint(2)) == .failure(ConversionError("raw value 2 is not in the point's map (mapped: -1, 0, 1, 3)")))
        #expect(Self.status.apply(.uint(.max)) == .failure(ConversionError("raw value 18446744073709551615 is not in the point's map (mapped: -1, 0, 1, 3)")))
    }

    @Test func aBoolMapsAsZeroOrOne() {
        let relay = PointConversion(labels: [0: "open", 1: "closed"])
        #expect(relay.apply(.bool(true)) == .success(.string("closed")))
        #expect(relay.apply(.bool(false)) == .success(.string("open")))
    }

    @Test func theMapLooksAtTheRawValueNotTheScaledOne() {
        let conversion = PointConversion(transform: LinearTransform(scale: 0.1, offset: 0), labels: [10: "ten"])
        #expect(conversion.apply(.uint(10)) == .success(.string("ten")))
    }

    // MARK: - numbers

    @Test func numbersAreScaled() {
        #expect(PointConversion(transform: LinearTransform(scale: 0.1, offset: 0)).apply(.uint(2_301)) == .success(.double(230.1)))
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func aValueThatIsNotFiniteIsAnError(number: Double) {
        guard case .failure(let error) = PointConversion().apply(.double(number)) else {
            Issue.record("\(number) was published")
            return
        }
        #expect(error.description.hasPrefix("not a finite number"))
    }
}
