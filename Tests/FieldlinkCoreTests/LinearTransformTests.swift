import FieldlinkCore
import Testing

@Suite struct LinearTransformTests {
    /// Decimal scales give the decimal a person reads off the meter's display, not the binary product.
    @Test(arguments: [
        (Value.uint(2_301), 0.1, 230.1),
        (.int(2_301), 0.1, 230.1),
        (.uint(4_999), 0.01, 49.99),
        (.uint(123_456), 0.001, 123.456),
        (.int(-2_301), 0.1, -230.1),
        (.int(-17), 0.1, -1.7),
        (.uint(3), 0.1, 0.3),
        (.int(2_301), -0.1, -230.1),
        (.double(2_301), 0.1, 230.1),
    ])
    func decimalScalesGiveTheExactDecimal(raw: Value, scale: Double, expected: Double) {
        #expect(LinearTransform(scale: scale, offset: 0).apply(raw) == .double(expected))
    }

    @Test func twoThreeZeroOnePointOneIsNotTheBinaryProduct() {
        // The reason for dividing: the naive product is one ulp off.
        #expect(2_301 * 0.1 != 230.1)
        #expect(LinearTransform(scale: 0.1, offset: 0).apply(.uint(2_301)) == .double(230.1))
    }

    @Test(arguments: [
        (Value.uint(21), 2.0, 0.0, 42.0),
        (.int(-3), 1.5, 0.0, -4.5),
        (.int(250), 0.1, -40.0, -15.0),
        (.uint(10), 1.0, 0.5, 10.5),
        (.uint(10), 0.3, 0.0, 10 * 0.3),
        (.uint(7), 0.25, 0.0, 1.75),
    ])
    func scalesThenOffsets(raw: Value, scale: Double, offset: Double, expected: Double) {
        #expect(LinearTransform(scale: scale, offset: offset).apply(raw) == .double(expected))
    }

    @Test(arguments: [Value.int(-5), .uint(UInt64.max), .double(1.25), .bool(true), .string("on")])
    func identityKeepsTheValueAndItsKind(value: Value) {
        #expect(LinearTransform.identity.isIdentity)
        #expect(LinearTransform.identity.apply(value) == value)
    }

    @Test(arguments: [Value.bool(true), .bool(false)])
    func boolsAreNeverScaled(value: Value) {
        #expect(LinearTransform(scale: 10, offset: 3).apply(value) == value)
    }

    @Test func stringsAreNeverScaled() {
        #expect(LinearTransform(scale: 0.1, offset: 1).apply(.string("fault")) == .string("fault"))
    }

    @Test func offsetAloneMakesADouble() {
        let transform = LinearTransform(scale: 1, offset: -40)
        #expect(!transform.isIdentity)
        #expect(transform.apply(.int(65)) == .double(25))
    }

    @Test func valueNumbers() {
        #expect(Value.bool(true).number == 1)
        #expect(Value.bool(false).number == 0)
        #expect(Value.int(-7).number == -7)
        #expect(Value.uint(7).number == 7)
        #expect(Value.double(0.5).number == 0.5)
        #expect(Value.string("x").number == nil)
    }
}
