import Foundation

extension ModbusSimulator {
    /// The simulator's own memory as it dumped it after the last write it took (`--state-file`):
    /// what the device holds, independent of anything the gateway reads back. nil before any write.
    public struct State {
        public var holding: [Int: [Int]]
        public var coils: [Int: [Bool]]

        public func register(unit: Int, _ address: Int) -> Int? {
            holding[unit].flatMap { address < $0.count ? $0[address] : nil }
        }

        public func coil(unit: Int, _ address: Int) -> Bool? {
            coils[unit].flatMap { address < $0.count ? $0[address] : nil }
        }
    }

    public var stateFile: String { requestLog.replacingOccurrences(of: "-requests.log", with: "-state.json") }

    public var state: State? {
        guard let data = FileManager.default.contents(atPath: stateFile),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: [String: Any]] else { return nil }
        var state = State(holding: [:], coils: [:])
        for (unit, tables) in json {
            guard let unit = Int(unit) else { continue }
            state.holding[unit] = (tables["holding"] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue }
            state.coils[unit] = (tables["coil"] as? [Any])?.compactMap { ($0 as? NSNumber)?.boolValue }
        }
        return state
    }

    /// Write requests the simulator heard (functions 5, 6, 15, 16), as (unit, function, address, count).
    public var writeRequests: [(unit: Int, function: Int, address: Int, count: Int)] {
        requestDetails.filter { [5, 6, 15, 16].contains($0.function) }
    }
}
