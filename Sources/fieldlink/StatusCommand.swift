import ArgumentParser
import FieldlinkBuffer
import FieldlinkCore
import FieldlinkOperability
import FieldlinkPipeline
import FieldlinkPOSIX
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// sysexits(3): no daemon answers.
let exitUnavailable = ExitCode(69)
/// sysexits(3): the daemon would not answer us.
let exitNoPermission = ExitCode(77)

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running daemon what it is doing: broker, buses, devices, ring. Exits 69 when no daemon answers."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Print the status as one JSON document.")
    var json = false

    func run() throws {
        let config = try options.load()
        let candidates = StatusSocketPath.candidates(stateDirectory: config.gateway.stateDirectory,
                                                     environment: ProcessInfo.processInfo.environment)
        let data: Data
        do {
            data = try StatusClient.fetch(candidates: candidates)
        } catch {
            StandardError.write("fieldlink status: \(error)\n")
            throw error.permission ? exitNoPermission : exitUnavailable
        }
        let document: StatusDocument
        do {
            document = try StatusDocument.decode(data)
        } catch {
            StandardError.write("fieldlink status: the daemon's answer is not a status document: \(error)\n")
            throw exitUnavailable
        }
        if json {
            print(String(decoding: document.json(), as: UTF8.self))
        } else {
            print(document.text, terminator: "")
        }
    }
}

/// The daemon's side: one document from what every part reports.
struct StatusSource: Sendable {
    let started: ContinuousClock.Instant
    let config: @Sendable () -> Config
    let ring: DiskRing
    let gate: ClockGate

    func document() -> StatusDocument {
        var document = StatusDocument(config: config(), version: FieldlinkVersion.current, pid: getpid(), uptime: .now - started,
                                      health: HealthBoard.shared.snapshot(), counters: GatewayCounters.shared.snapshot(), ring: ring.statistics,
                                      occupancy: ring.occupancy, now: Int64(Date().timeIntervalSince1970 * 1_000))
        let clock = gate.status
        document.clock = .init(synchronised: clock.synchronised, heldReadings: clock.held)
        return document
    }
}
