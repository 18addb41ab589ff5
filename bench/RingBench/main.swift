// ring-bench: drives the real DiskRing (and MQTTPublisher) for bench/ring.sh.
//
//   ring-bench sample                                   topic and payload of a typical record
//   ring-bench append --mode always|spill-down|spill-up --count N --dir D
//   ring-bench fill   --count N --dir D [--max-bytes B] [--qos 0|1|2]
//   ring-bench drain  --dir D --broker-port P [--replay-rate R] [--max-inflight M] [--max-bytes B] [--timeout S]
//                     [--host H] [--ca-file CA]     (--ca-file: mqtts:// to H, server verified against CA)
//   ring-bench paced  --rate R --seconds S --dir D
//
// Every subcommand prints `key=value` lines on stdout (one figure per line); logs go to stderr.
// Arguments are parsed by hand to keep the bench free of extra dependencies.

import FieldlinkBuffer
import FieldlinkCore
import FieldlinkMQTT
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

enum RingBench {
    static let logger: Logger = {
        var logger = Logger(label: "ring-bench") { StderrLogHandler(label: $0, level: .notice, journalPrefix: false) }
        logger.logLevel = .notice
        return logger
    }()

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("ring-bench: \(message)\n".utf8))
        exit(2)
    }

    static func emit(_ key: String, _ value: Any) {
        print("\(key)=\(value)")
    }

    // MARK: Records

    static let topicPrefix = "fieldlink/gw-01/meter"
    /// What JSONPayloadEncoder puts on every message; it is stored in each record.
    static let contentType = "application/json"

    /// A meter reading as the gateway publishes it: ~120 bytes of JSON, 22-byte topic.
    static func payload(_ n: Int) -> String {
        #"{"device":"meter\#(n % 8)","seq":\#(10_000_000 + n % 90_000_000),"ts":1764083823123,"values":{"voltage":230.\#(n % 10),"current":4.2,"power":966,"energy":1234.5}}"#
    }

    static func message(_ n: Int, qos: Int = 1) -> OutboundMessage {
        OutboundMessage(topic: "\(topicPrefix)\(n % 8)", payload: Array(payload(n).utf8), qos: qos, retain: false, contentType: contentType)
    }

    /// Built before any clock starts, so the figures are the ring's cost, not the bench's string formatting.
    static let pool: [OutboundMessage] = makePool(qos: 1)
    /// The same records at another QoS (stored per record, as the gateway stores each point's QoS).
    static func makePool(qos: Int) -> [OutboundMessage] { (0..<4_096).map { message($0, qos: qos) } }
    static var payloadSize: Int { pool[0].payload.count }

    // MARK: Measurements

    /// `write_bytes` of /proc/self/io: bytes this process caused to be written to storage, counted
    /// when page-cache pages are dirtied (a page written again after writeback counts again).
    static func writeBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix("write_bytes:") {
            return Int(line.dropFirst("write_bytes:".count).trimmingCharacters(in: .whitespaces)) ?? -1
        }
        return -1
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func segmentBytes(_ directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".seg") }.reduce(0) { total, name in
            var status = stat()
            return total + (stat("\(directory)/\(name)", &status) == 0 ? Int(status.st_size) : 0)
        }
    }

    /// fieldlink's default `mqtt.max_inflight`; the ring's default spill threshold (`memory_messages`) follows it.
    static let defaultInflight = 100

    static func openRing(directory: String, durability: Durability, maxBytes: Int, replayRate: Int = 2_000,
                         inFlightWindow: Int = defaultInflight) -> DiskRing {
        var buffer = BufferConfig()  // defaults: sync_interval 1s, memory_messages = the in-flight window
        buffer.durability = durability
        buffer.maxBytes = maxBytes
        buffer.replayRate = replayRate
        do {
            return try DiskRing(settings: DiskRing.Settings(directory: directory, buffer: buffer, inFlightWindow: inFlightWindow), logger: logger)
        } catch {
            fail("cannot open the ring in \(directory): \(error)")
        }
    }

    /// Room for `count` records of the pool's size, so no limit drops anything during a run.
    static func maxBytes(for count: Int) -> Int { max(64 << 20, count * 256) }

    // MARK: Subcommands

    static func sample() {
        emit("topic", pool[7].topic)
        emit("payload", String(decoding: pool[7].payload, as: UTF8.self))
        emit("payload_bytes", payloadSize)
        emit("content_type", contentType)
    }

    /// Appends `count` records as fast as one thread can. `spill-up` checks out and acknowledges
    /// every 50 appends (a publisher keeping up), so the in-memory path is what is measured.
    static func append(_ arguments: Arguments) {
        let mode = arguments.string("mode")
        let count = arguments.int("count")
        let directory = arguments.string("dir")
        let durability: Durability = mode == "always" ? .always : .spill
        guard ["always", "spill-down", "spill-up", "raw"].contains(mode) else { fail("--mode is always, spill-down, spill-up or raw") }
        if mode == "raw" { return rawAppend(count: count, directory: directory) }
        let pool = self.pool
        let bytes0 = writeBytes()
        let ring = openRing(directory: directory, durability: durability, maxBytes: maxBytes(for: count))
        ring.uplinkChanged(up: mode == "spill-up")
        // Opening creates the folder (a directory block); the appends are measured from here.
        let bytesOpened = writeBytes()
        let cpu0 = cpuSeconds()
        let start = ContinuousClock.now
        var payloadBytes = 0
        if mode == "spill-up" {
            for n in 0..<count {
                let message = pool[n & 4_095]
                payloadBytes += message.payload.count
                ring.append(message)
                if n % 50 == 49 {
                    for record in ring.checkout(limit: 50) { ring.acknowledge(record.id) }
                }
            }
            for record in ring.checkout(limit: 50) { ring.acknowledge(record.id) }
        } else {
            for n in 0..<count {
                let message = pool[n & 4_095]
                payloadBytes += message.payload.count
                ring.append(message)
            }
        }
        let appendSeconds = seconds(ContinuousClock.now - start)
        let cpu1 = cpuSeconds()
        let bytesBeforeClose = writeBytes()
        let depth = ring.statistics.depth
        ring.close()
        let totalSeconds = seconds(ContinuousClock.now - start)
        let bytes1 = writeBytes()
        emit("mode", mode)
        emit("records", count)
        emit("payload_bytes", payloadBytes)
        emit("segment_bytes", segmentBytes(directory))
        emit("seconds", String(format: "%.4f", appendSeconds))
        emit("seconds_with_close", String(format: "%.4f", totalSeconds))
        emit("cpu_seconds", String(format: "%.4f", cpu1 - cpu0))
        emit("records_per_s", String(format: "%.0f", Double(count) / appendSeconds))
        emit("payload_mb_per_s", String(format: "%.2f", Double(payloadBytes) / appendSeconds / 1e6))
        emit("disk_mb_per_s", String(format: "%.2f", Double(segmentBytes(directory)) / appendSeconds / 1e6))
        emit("depth_before_close", depth)
        emit("write_bytes_open", bytesOpened - bytes0)
        emit("write_bytes_appending", bytesBeforeClose - bytesOpened)
        emit("write_bytes_close", bytes1 - bytesBeforeClose)
        emit("write_bytes", bytes1 - bytes0)
    }

    /// The floor for disk appends: the same framed records (built beforehand), one `write(2)` each to
    /// an O_APPEND file, one `fdatasync` at the end. No lock, no framing, no checksum at append time.
    static func rawAppend(count: Int, directory: String) {
        let frames = pool.enumerated().map { RecordCodec.frame(id: UInt64($0.offset + 1), message: $0.element, appendedAt: 1_764_083_823_123) }
        let payloadSizes = pool.map(\.payload.count)
        guard mkdir(directory, 0o750) == 0 || errno == EEXIST else { fail("mkdir \(directory)") }
        let fd = open("\(directory)/raw.seg", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { fail("open \(directory)/raw.seg") }
        let cpu0 = cpuSeconds()
        let start = ContinuousClock.now
        var payloadBytes = 0
        var diskBytes = 0
        for n in 0..<count {
            let written = frames[n & 4_095].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == frames[n & 4_095].count else { fail("short write") }
            payloadBytes += payloadSizes[n & 4_095]
            diskBytes += written
        }
        let appendSeconds = seconds(ContinuousClock.now - start)
        let cpu1 = cpuSeconds()
        fdatasync(fd)
        close(fd)
        let totalSeconds = seconds(ContinuousClock.now - start)
        emit("mode", "raw")
        emit("records", count)
        emit("payload_bytes", payloadBytes)
        emit("segment_bytes", diskBytes)
        emit("seconds", String(format: "%.4f", appendSeconds))
        emit("seconds_with_close", String(format: "%.4f", totalSeconds))
        emit("cpu_seconds", String(format: "%.4f", cpu1 - cpu0))
        emit("records_per_s", String(format: "%.0f", Double(count) / appendSeconds))
        emit("payload_mb_per_s", String(format: "%.2f", Double(payloadBytes) / appendSeconds / 1e6))
        emit("disk_mb_per_s", String(format: "%.2f", Double(diskBytes) / appendSeconds / 1e6))
    }

    /// Fills a ring offline (uplink down, spill mode): the backlog a drain starts from. `--qos` is
    /// stored in every record; the drain publishes each record at its own QoS.
    static func fill(_ arguments: Arguments) {
        let count = arguments.int("count")
        let directory = arguments.string("dir")
        let qos = arguments.int("qos", 1)
        guard (0...2).contains(qos) else { fail("--qos is 0, 1 or 2") }
        let ring = openRing(directory: directory, durability: .spill, maxBytes: arguments.int("max-bytes", maxBytes(for: count)))
        ring.uplinkChanged(up: false)
        let pool = qos == 1 ? self.pool : makePool(qos: qos)
        let start = ContinuousClock.now
        for n in 0..<count { ring.append(pool[n & 4_095]) }
        ring.close()
        emit("records", count)
        emit("seconds", String(format: "%.3f", seconds(ContinuousClock.now - start)))
        emit("segment_bytes", segmentBytes(directory))
        emit("depth", count)
        emit("qos", qos)
    }

    /// Starts the real MQTTPublisher on a filled ring and times it until the ring is empty. With
    /// `--ca-file` the URL is `mqtts://HOST:PORT` and the server is verified against that CA (the
    /// certificate must name HOST, so use `--host localhost` with a certificate for localhost).
    static func drain(_ arguments: Arguments) async {
        let directory = arguments.string("dir")
        let port = arguments.int("broker-port")
        let host = arguments.string("host", "127.0.0.1")
        let caFile = arguments.string("ca-file", "")
        let endpoint = caFile.isEmpty ? "url: mqtt://\(host):\(port)" : "url: mqtts://\(host):\(port)\n  tls: {ca_file: \(caFile)}"
        let replayRate = arguments.int("replay-rate", 2_000)
        let maxInflight = arguments.int("max-inflight", 100)
        let timeout = Double(arguments.int("timeout", 600))
        let yaml = """
            gateway:
              id: ring-bench
            mqtt:
              \(endpoint)
              client_id: ring-bench-\(getpid())
              max_inflight: \(maxInflight)
            buses: []
            devices: []
            """
        let config: Config
        do {
            config = try ConfigLoader(families: []).parse(yaml: yaml, file: "ring-bench.yaml")
        } catch {
            fail("config: \(error)")
        }
        // The ring keeps its replay rate outside the YAML range check (1...1_000_000) on purpose: the
        // bench wants "high enough not to limit", which 10,000,000 expresses.
        let ring = openRing(directory: directory, durability: .spill, maxBytes: arguments.int("max-bytes", 512 << 20),
                            replayRate: replayRate, inFlightWindow: maxInflight)
        let initial = ring.statistics.depth
        guard initial > 0 else { fail("the ring in \(directory) is empty; run fill first") }
        let timedRing = ConnackTimedRing(ring)
        let publisher = MQTTPublisher(config: config.mqtt, ring: timedRing, logger: logger)
        let cpu0 = cpuSeconds()
        let start = ContinuousClock.now
        let task = Task { try await publisher.run() }
        var firstAck: Double?
        var depth = initial
        var timedOut = false
        while depth > 0 {
            usleep(5_000)  // 5 ms: well under 0.1% of a 1M drain, and a mostly idle fourth thread
            depth = ring.statistics.depth
            let elapsed = seconds(ContinuousClock.now - start)
            if firstAck == nil, depth < initial { firstAck = elapsed }
            if elapsed > timeout {
                timedOut = true
                break
            }
        }
        let drainSeconds = seconds(ContinuousClock.now - start)
        let cpu1 = cpuSeconds()
        task.cancel()
        _ = try? await task.value
        ring.close()
        let drained = initial - depth
        let connack = timedRing.connectedAt
        let fromConnack = connack.map { seconds(start.duration(to: $0.at)) } ?? 0
        emit("records", drained)
        emit("backlog", initial)
        emit("replay_rate", replayRate)
        emit("max_inflight", maxInflight)
        emit("tls", caFile.isEmpty ? 0 : 1)
        emit("seconds", String(format: "%.4f", drainSeconds))
        emit("first_ack_seconds", String(format: "%.4f", firstAck ?? -1))
        emit("msgs_per_s", String(format: "%.0f", Double(drained) / drainSeconds))
        emit("cpu_seconds", String(format: "%.3f", cpu1 - cpu0))
        // The same figures with the clock started at CONNACK (after the TCP connect and any TLS handshake).
        emit("connack_seconds", String(format: "%.4f", fromConnack))
        emit("msgs_per_s_from_connack", String(format: "%.0f", Double(drained) / (drainSeconds - fromConnack)))
        emit("cpu_seconds_from_connack", String(format: "%.3f", cpu1 - (connack?.cpu ?? cpu0)))
        emit("timed_out", timedOut ? 1 : 0)
        emit("dropped", ring.statistics.dropped)
    }

    /// Appends at a steady rate offline with default settings (group commit every 1 s) and counts
    /// the bytes the process wrote to storage.
    static func paced(_ arguments: Arguments) {
        let rate = arguments.int("rate", 2_000)
        let duration = arguments.int("seconds", 10)
        let directory = arguments.string("dir")
        let ticksPerSecond = 100
        guard rate % ticksPerSecond == 0 else { fail("--rate must be a multiple of \(ticksPerSecond)") }
        let perTick = rate / ticksPerSecond
        let pool = self.pool
        let bytes0 = writeBytes()
        let ring = openRing(directory: directory, durability: .spill, maxBytes: BufferConfig().maxBytes)
        ring.uplinkChanged(up: false)
        let start = ContinuousClock.now
        var n = 0
        var payloadBytes = 0
        for tick in 0..<(duration * ticksPerSecond) {
            let due = start + .milliseconds(tick * 1_000 / ticksPerSecond)
            let wait = ContinuousClock.now.duration(to: due)
            if wait > .zero { usleep(UInt32(seconds(wait) * 1e6)) }
            for _ in 0..<perTick {
                let message = pool[n & 4_095]
                payloadBytes += message.payload.count
                ring.append(message)
                n += 1
            }
        }
        let elapsed = seconds(ContinuousClock.now - start)
        let bytesBeforeClose = writeBytes()
        ring.close()
        let bytes1 = writeBytes()
        let segment = segmentBytes(directory)
        emit("records", n)
        emit("seconds", String(format: "%.3f", elapsed))
        emit("payload_bytes", payloadBytes)
        emit("segment_bytes", segment)
        emit("write_bytes_before_close", bytesBeforeClose - bytes0)
        emit("write_bytes", bytes1 - bytes0)
        emit("write_per_payload_byte", String(format: "%.4f", Double(bytes1 - bytes0) / Double(payloadBytes)))
        emit("write_per_record_byte", String(format: "%.4f", Double(bytes1 - bytes0) / Double(segment)))
    }
}

let arguments = Arguments(CommandLine.arguments)
switch arguments.command {
case "sample": RingBench.sample()
case "append": RingBench.append(arguments)
case "fill": RingBench.fill(arguments)
case "drain": await RingBench.drain(arguments)
case "paced": RingBench.paced(arguments)
case "payload": PayloadBench.run()
default:
    RingBench.fail("usage: ring-bench sample | append | fill | drain | paced | payload (see bench/README.md)")
}
