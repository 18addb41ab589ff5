import BusTestSupport
import FieldlinkCore
@testable import FieldlinkModbus

/// A device's memory as a test sees it: register and bit values by protocol address.
struct RegisterImage: Sendable {
    var holding: [Int: UInt16] = [:]
    var input: [Int: UInt16] = [:]
    var coils: [Int: Bool] = [:]
    var discrete: [Int: Bool] = [:]

    /// Puts `words` at `address` onward in `table`.
    mutating func set(_ table: ModbusTable, _ address: Int, _ words: [UInt16]) {
        for (offset, word) in words.enumerated() {
            if table == .input { input[address + offset] = word } else { holding[address + offset] = word }
        }
    }

    mutating func set(_ table: ModbusTable, _ address: Int, bits: [Bool]) {
        for (offset, bit) in bits.enumerated() {
            if table == .discrete { discrete[address + offset] = bit } else { coils[address + offset] = bit }
        }
    }
}

/// The Modbus byte boundary without a line: serves each unit's register image as a device would
/// (an address it lacks is exception 2, a unit it lacks never answers), and plays scripted faults.
/// A timeout advances the test clock by the response timeout, as the real wait would have taken.
final class FakeModbusTransport: ModbusTransport {
    struct Request: Equatable {
        var unit: Int
        var table: ModbusTable
        var address: Int
        var count: Int
        /// Set for writes: the function code (5, 6, 15, 16); nil for reads.
        var function: Int? = nil
    }

    var images: [Int: RegisterImage]
    /// Faults for the next requests, in order, before the image is consulted (nil: answer normally).
    var script: [ModbusError.Code?] = []
    /// Every request made, in order.
    private(set) var requests: [Request] = []
    private(set) var flushes = 0
    private(set) var closed = false
    private let clock: ManualClock
    /// How long the device takes to answer.
    var turnaround: Duration = .milliseconds(5)
    private var unit = 0
    private var timeout: Duration = .milliseconds(500)

    init(images: [Int: RegisterImage], clock: ManualClock) {
        self.images = images
        self.clock = clock
    }

    func setUnit(_ unit: Int) throws(ModbusError) { self.unit = unit }
    func setResponseTimeout(_ timeout: Duration) { self.timeout = timeout }
    func flush() { flushes += 1 }
    func close() { closed = true }

    func readRegisters(input: Bool, address: Int, count: Int) throws(ModbusError) -> [UInt16] {
        let image = try answer(Request(unit: unit, table: input ? .input : .holding, address: address, count: count))
        let table = input ? image.input : image.holding
        let words = (address..<address + count).compactMap { table[$0] }
        guard words.count == count else { throw ModbusError(code: .exception(.illegalDataAddress), detail: "") }
        return words
    }

    func readBits(discrete: Bool, address: Int, count: Int) throws(ModbusError) -> [Bool] {
        let image = try answer(Request(unit: unit, table: discrete ? .discrete : .coil, address: address, count: count))
        let table = discrete ? image.discrete : image.coils
        let bits = (address..<address + count).compactMap { table[$0] }
        guard bits.count == count else { throw ModbusError(code: .exception(.illegalDataAddress), detail: "") }
        return bits
    }

    func writeRegister(address: Int, value: UInt16) throws(ModbusError) {
        try store(Request(unit: unit, table: .holding, address: address, count: 1, function: 6), registers: [value])
    }

    func writeRegisters(address: Int, values: [UInt16]) throws(ModbusError) {
        try store(Request(unit: unit, table: .holding, address: address, count: values.count, function: 16), registers: values)
    }

    func writeBit(address: Int, value: Bool) throws(ModbusError) {
        try store(Request(unit: unit, table: .coil, address: address, count: 1, function: 5), bits: [value])
    }

    func writeBits(address: Int, values: [Bool]) throws(ModbusError) {
        try store(Request(unit: unit, table: .coil, address: address, count: values.count, function: 15), bits: values)
    }

    /// A write as a device takes it: into the image, where every address written already exists.
    private func store(_ request: Request, registers: [UInt16] = [], bits: [Bool] = []) throws(ModbusError) {
        var image = try answer(request)
        let addresses = request.address..<request.address + request.count
        if request.table == .coil {
            guard addresses.allSatisfy({ image.coils[$0] != nil }) else { throw ModbusError(code: .exception(.illegalDataAddress), detail: "") }
            image.set(.coil, request.address, bits: bits)
        } else {
            guard addresses.allSatisfy({ image.holding[$0] != nil }) else { throw ModbusError(code: .exception(.illegalDataAddress), detail: "") }
            image.set(.holding, request.address, registers)
        }
        images[unit] = image
    }

    /// Writes only, in order.
    var writes: [Request] { requests.filter { $0.function != nil } }

    /// Books the request and plays what comes before the image: a scripted fault or a silent unit.
    private func answer(_ request: Request) throws(ModbusError) -> RegisterImage {
        requests.append(request)
        if !script.isEmpty, let fault = script.removeFirst() {
            clock.advance(by: fault == .timeout ? timeout : turnaround)
            throw ModbusError(code: fault, detail: fault == .timeout ? "no response (timeout)" : "\(fault)")
        }
        guard let image = images[unit] else {
            clock.advance(by: timeout)
            throw ModbusError(code: .timeout, detail: "no response (timeout)")
        }
        clock.advance(by: turnaround)
        return image
    }
}
