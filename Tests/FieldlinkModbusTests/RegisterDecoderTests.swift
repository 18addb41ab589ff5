import FieldlinkCore
import FieldlinkModbus
import Testing

/// A value of known bytes and the registers a device sends for it in each word order, worked out here
/// from the big-endian byte pattern rather than through the decoder's own helpers.
struct Sample: Sendable, CustomTestStringConvertible {
    var type: ModbusDataType
    /// The value's bytes, most significant first (what `ABCD` sends as-is).
    var bigEndian: [UInt8]
    var expected: Value
    var testDescription: String { "\(type) \(expected)" }

    init<T: FixedWidthInteger>(_ type: ModbusDataType, integer: T, _ expected: Value) {
        self.type = type
        self.bigEndian = (0..<T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: integer >> ($0 * 8)) }
        self.expected = expected
    }

    init(float32 value: Float, _ expected: Value) {
        self.init(.float32, integer: value.bitPattern, expected)
    }

    init(float64 value: Double) {
        self.init(.float64, integer: value.bitPattern, .double(value))
    }

    /// The registers on the wire: `CDAB` and `DCBA` reverse the order of the 16-bit words, `BADC`
    /// and `DCBA` swap the two bytes inside each word.
    func registers(_ order: WordOrder) -> [UInt16] {
        var words = stride(from: 0, to: bigEndian.count, by: 2).map { [bigEndian[$0], bigEndian[$0 + 1]] }
        if order == .cdab || order == .dcba { words.reverse() }
        if order == .badc || order == .dcba { words = words.map { $0.reversed() } }
        return words.map { UInt16($0[0]) << 8 | UInt16($0[1]) }
    }
}

@Suite struct RegisterDecoderTests {
    static let samples: [Sample] = [
        Sample(.bool, integer: UInt16(0), .bool(false)),
        Sample(.bool, integer: UInt16(1), .bool(true)),
        Sample(.bool, integer: UInt16(0xFF00), .bool(true)),
        Sample(.int16, integer: Int16(-2), .int(-2)),
        Sample(.int16, integer: Int16.min, .int(Int64(Int16.min))),
        Sample(.int16, integer: Int16.max, .int(Int64(Int16.max))),
        Sample(.int16, integer: Int16(0x1234), .int(0x1234)),
        Sample(.uint16, integer: UInt16.max, .uint(65_535)),
        Sample(.uint16, integer: UInt16(0xA1B2), .uint(0xA1B2)),
        Sample(.int32, integer: Int32(0x0102_0304), .int(0x0102_0304)),
        Sample(.int32, integer: Int32(-123_456_789), .int(-123_456_789)),
        Sample(.int32, integer: Int32.min, .int(Int64(Int32.min))),
        Sample(.int32, integer: Int32.max, .int(Int64(Int32.max))),
        Sample(.uint32, integer: UInt32.max, .uint(UInt64(UInt32.max))),
        Sample(.uint32, integer: UInt32(0xDEAD_BEEF), .uint(0xDEAD_BEEF)),
        Sample(.int64, integer: Int64(-1), .int(-1)),
        Sample(.int64, integer: Int64.min, .int(.min)),
        Sample(.int64, integer: Int64.max, .int(.max)),
        Sample(.int64, integer: Int64(0x0102_0304_0506_0708), .int(0x0102_0304_0506_0708)),
        Sample(.int64, integer: Int64(-9_876_543_210_123), .int(-9_876_543_210_123)),
        Sample(.uint64, integer: UInt64.max, .uint(.max)),
        Sample(.uint64, integer: UInt64(0x0102_0304_0506_0708), .uint(0x0102_0304_0506_0708)),
        Sample(float32: 230.1, .double(230.1)),
        Sample(float32: -1.5, .double(-1.5)),
        Sample(float32: 0, .double(0)),
        Sample(float32: 49.99, .double(49.99)),
        Sample(float32: 3.4028235e38, .double(3.4028235e38)),
        Sample(float32: .infinity, .double(.infinity)),
        Sample(float32: -.infinity, .double(-.infinity)),
        Sample(float64: 230.1),
        Sample(float64: -0.000123),
        Sample(float64: .pi),
        Sample(float64: .greatestFiniteMagnitude),
        Sample(float64: -.infinity),
    ]

    static let cases: [(Sample, WordOrder)] = samples.flatMap { sample in WordOrder.allCases.map { (sample, $0) } }

    @Test(arguments: cases)
    func decodesEveryTypeInEveryOrder(sample: Sample, order: WordOrder) {
        let registers = sample.registers(order)
        #expect(registers.count == sample.type.registerCount)
        #expect(RegisterDecoder.decode(registers[...], as: sample.type, order: order) == sample.expected)
    }

    /// Golden vectors for 0x01020304: the order's name spells where each byte lands.
    @Test(arguments: [
        (WordOrder.abcd, [UInt16(0x0102), 0x0304]),
        (.cdab, [0x0304, 0x0102]),
        (.badc, [0x0201, 0x0403]),
        (.dcba, [0x0403, 0x0201]),
    ])
    func orderNamesSpellTheByteLayout(order: WordOrder, registers: [UInt16]) {
        #expect(RegisterDecoder.decode(registers[...], as: .uint32, order: order) == .uint(0x0102_0304))
        #expect(Sample(.uint32, integer: UInt32(0x0102_0304), .uint(0)).registers(order) == registers)
    }

    @Test(arguments: [
        (WordOrder.abcd, [UInt16(0x0102), 0x0304, 0x0506, 0x0708]),
        (.cdab, [0x0708, 0x0506, 0x0304, 0x0102]),
        (.badc, [0x0201, 0x0403, 0x0605, 0x0807]),
        (.dcba, [0x0807, 0x0605, 0x0403, 0x0201]),
    ])
    func sixtyFourBitOrdersApplyToAllFourWords(order: WordOrder, registers: [UInt16]) {
        #expect(RegisterDecoder.decode(registers[...], as: .uint64, order: order) == .uint(0x0102_0304_0506_0708))
    }

    @Test func float32Of230Point1IsExactlyTheDecimal() {
        // 230.1 as float32 is 0x4366199A; widened naively it would be 230.10000610351562.
        #expect(Float(230.1).bitPattern == 0x4366_199A)
        #expect(Double(Float(230.1)) == 230.100_006_103_515_62)
        #expect(RegisterDecoder.decode([0x4366, 0x199A][...], as: .float32, order: .abcd) == .double(230.1))
        #expect(RegisterDecoder.decode([0x199A, 0x4366][...], as: .float32, order: .cdab) == .double(230.1))
        #expect(RegisterDecoder.decode([0x6643, 0x9A19][...], as: .float32, order: .badc) == .double(230.1))
        #expect(RegisterDecoder.decode([0x9A19, 0x6643][...], as: .float32, order: .dcba) == .double(230.1))
        // One ulp below is a different float, and reads as its own shortest decimal.
        #expect(RegisterDecoder.decode([0x4366, 0x1999][...], as: .float32, order: .abcd) == .double(230.09999))
    }

    @Test(arguments: WordOrder.allCases)
    func float32NaNStaysNaN(order: WordOrder) {
        let registers = Sample(float32: .nan, .double(0)).registers(order)
        guard case .double(let value) = RegisterDecoder.decode(registers[...], as: .float32, order: order) else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test(arguments: WordOrder.allCases)
    func float64NaNStaysNaN(order: WordOrder) {
        let registers = Sample(float64: .nan).registers(order)
        guard case .double(let value) = RegisterDecoder.decode(registers[...], as: .float64, order: order) else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test func decodesFromASliceOfALargerRead() {
        let read: [UInt16] = [0xFFFF, 0x4366, 0x199A, 0xFFFE]
        #expect(RegisterDecoder.decode(read[1...2], as: .float32, order: .abcd) == .double(230.1))
        #expect(RegisterDecoder.decode(read[3...3], as: .int16, order: .abcd) == .int(-2))
    }

    @Test(arguments: [
        (ModbusDataType.bool, 1), (.int16, 1), (.uint16, 1), (.int32, 2), (.uint32, 2), (.float32, 2),
        (.int64, 4), (.uint64, 4), (.float64, 4),
    ])
    func registerCounts(type: ModbusDataType, count: Int) {
        #expect(type.registerCount == count)
    }

    // MARK: - Strings, raw registers and bits

    @Test(arguments: [
        ([UInt16(0x5344), 0x4D31, 0x3230, 0x0000], WordOrder.abcd, "SDM120"),
        ([0x5344, 0x4D31, 0x3230, 0x2020], .abcd, "SDM120"),  // space-padded
        ([0x5344, 0x4D31, 0x3200, 0x4142], .abcd, "SDM12"),  // ends at the first NUL, whatever follows
        ([0x4453, 0x314D, 0x3032], .badc, "SDM120"),  // low byte first
        ([0x4453, 0x314D, 0x3032], .dcba, "SDM120"),  // a byte swap is all a string honours
        ([0x2041, 0x2042, 0x2020], .abcd, " A B"),  // leading and inner spaces stay
        ([0x0000, 0x4142], .abcd, ""),
        ([0xC3A9, 0x7465], .abcd, "éte"),  // UTF-8 passes through
    ])
    func stringsAreTrimmedAtNULAndTrailingSpaces(registers: [UInt16], order: WordOrder, expected: String) {
        let layout = RegisterLayout(type: .string, order: order, length: registers.count)
        #expect(layout.decode(registers[...]) == .string(expected))
    }

    @Test func bytesThatAreNotUTF8BecomeReplacementCharacters() {
        let layout = RegisterLayout(type: .string, length: 1)
        #expect(layout.decode([0x41FF][...]) == .string("A\u{FFFD}"))
    }

    @Test func rawShowsEachRegisterAsFourHexDigits() {
        let layout = RegisterLayout(type: .raw, length: 4)
        #expect(layout.decode([0x0000, 0x00AB, 0x4366, 0xFFFF][...]) == .string("0000 00AB 4366 FFFF"))
        #expect(RegisterDecoder.decode([0x0102][...], as: .raw, order: .dcba) == .string("0102"))
    }

    @Test(arguments: 0..<16)
    func aBitOfARegisterIsABool(bit: Int) {
        let register = UInt16(1) << UInt16(bit)
        for other in 0..<16 {
            let layout = RegisterLayout(type: .bool, bit: other)
            #expect(layout.decode([register][...]) == .bool(other == bit), "bit \(other) of \(register)")
            #expect(layout.decode([~register][...]) == .bool(other != bit), "bit \(other) of \(~register)")
        }
    }

    @Test func bitsAreCountedAfterTheByteSwap() {
        // 0x0001 on the wire with bytes swapped is 0x0100: bit 8.
        #expect(RegisterLayout(type: .bool, order: .badc, bit: 8).decode([0x0001][...]) == .bool(true))
        #expect(RegisterLayout(type: .bool, order: .badc, bit: 0).decode([0x0001][...]) == .bool(false))
    }

    @Test(arguments: [
        (ModbusDataType.string, true), (.raw, true), (.bool, false), (.uint16, false), (.float64, false),
    ])
    func onlyStringAndRawTakeALength(type: ModbusDataType, hasLength: Bool) {
        #expect(type.hasLength == hasLength)
        #expect(RegisterLayout(type: type, length: 7).registerCount == (hasLength ? 7 : type.registerCount))
    }
}
