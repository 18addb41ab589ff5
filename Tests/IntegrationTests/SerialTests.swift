import Foundation
import Testing
import TestSupport

/// A u-blox receiver's 1 Hz burst with a fix (NMEA 4.11: GN for the combined fix, GP/GL per system),
/// followed by what a real line adds: a bad checksum, a sentence whose start was lost, UBX binary
/// noise and an over-long line. The checksums were computed independently (Python).
private let gnssBurst = """
    $GNRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A,V*33\r
    $GNVTG,77.52,T,,M,0.004,N,0.008,K,A*18\r
    $GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*46\r
    $GNGSA,A,3,10,23,15,20,,,,,,,,,1.94,1.01,1.66,1*0A\r
    $GPGSV,3,1,10,10,52,304,44,15,24,077,38,16,16,302,,18,35,146,,1*62\r
    $GLGSV,1,1,02,65,35,059,33,72,41,313,29,1*79\r
    $GNGLL,4717.11437,N,00833.91522,E,083559.00,A,A*75\r
    $GNGGA,083559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*47\r
    559.00,4717.11437,N,00833.91522,E,1,08,1.01,499.6,M,48.0,M,,*46\r
    \u{B5}\u{62}\u{01}\u{07}\u{5C}\u{00}\u{FF}\u{00}\r
    \(String(repeating: "$GNGSV,", count: 60))\r

    """

/// Before the fix: empty position fields.
private let gnssNoFix = """
    $GNRMC,,V,,,,,,,,,,N*4D\r
    $GNVTG,,,,,,,,,N*2E\r
    $GNGGA,,,,,,0,00,99.99,,,,,,*56\r
    $GNGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99,1*33\r
    $GPGSV,1,1,00,0*65\r
    $GNGLL,,,,,,V,N*7A\r

    """

private let gnssPoints = """
        parser: nmea
        points:
          - {name: latitude}
          - {name: longitude}
          - {name: altitude, unit: m}
          - {name: sats, field: satellites}
          - {name: fix_quality}
          - {name: speed, unit: kn}
          - {name: time}
    """

@Suite("Serial devices, end to end", .serialized)
struct SerialTests {
    @Test("an NMEA stream on a pty is published once per interval; damaged frames are dropped and logged once",
          .timeLimit(.minutes(2)))
    func nmeaStream() throws {
        let peers = try Peers("serial-nmea")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let receiver = try TextSensor.stream(gnssBurst, port: pty.deviceSide, period: .milliseconds(100), in: workspace.path)
        defer { receiver.stop() }

        let config = try workspace.write(configHead(gateway: "gw", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: uart, type: serial, port: \(pty.gatewaySide), baud: 460800, delimiter: "\\r\\n", max_frame: 256}
            devices:
              - name: gnss
                bus: uart
                interval: 500ms
            \(gnssPoints)

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "gnss", count: 4, timeout: .seconds(20)), "gateway log:\n\(gateway.stderr)")

        let messages = subscriber.telemetry(device: "gnss")
        for message in messages {
            #expect(message.errors.isEmpty, "\(message)")
            #expect(message.valueText("latitude") == "47.2852395")
            #expect(message.valueText("longitude") == "8.56525367")
            #expect(message.valueText("altitude") == "499.6")
            #expect(message.valueText("sats") == "8")
            #expect(message.valueText("fix_quality") == "1")
            #expect(message.valueText("speed") == "0.004")
            #expect(message.valueText("time") == "\"2002-12-09T08:35:59.00Z\"")
        }
        // Thinned: about two readings a second from ten bursts a second.
        let span = Double(messages.last!.ts - messages.first!.ts) / 1_000
        #expect(Double(messages.count - 1) <= span * 2 + 1, "\(messages.count) messages over \(span) s")
        // Every period has damaged frames: one warning when dropping starts, none per frame.
        #expect(gateway.logLines(level: "WARNING", containing: "dropping frames that fail to parse").count == 1, "\(gateway.stderr)")
    }

    @Test("before a fix an NMEA receiver gives satellites and fix quality, no position", .timeLimit(.minutes(2)))
    func nmeaWithoutFix() throws {
        let peers = try Peers("serial-nofix")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let receiver = try TextSensor.stream(gnssNoFix, port: pty.deviceSide, in: workspace.path)
        defer { receiver.stop() }
        let config = try workspace.write(configHead(gateway: "gw", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: uart, type: serial, port: \(pty.gatewaySide), baud: 9600}
            devices:
              - name: gnss
                bus: uart
                interval: 500ms
            \(gnssPoints)

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "gnss", count: 2, timeout: .seconds(20)), "gateway log:\n\(gateway.stderr)")
        for message in subscriber.telemetry(device: "gnss") {
            #expect(Set(message.values.keys) == ["sats", "fix_quality"], "\(message)")
            #expect(message.valueText("fix_quality") == "0")
            #expect(message.errors["latitude"] == "no fix (the receiver reports none)", "\(message)")
        }
    }

    @Test("regex, keyvalue and csv devices, in stream and poll mode, with scale, offset and type",
          .timeLimit(.minutes(2)))
    func textDevices() throws {
        let peers = try Peers("serial-text")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let regexPty = try PtyPair(in: workspace.path, name: "regex")
        defer { regexPty.process.stop() }
        let keyValuePty = try PtyPair(in: workspace.path, name: "kv")
        defer { keyValuePty.process.stop() }
        let csvPty = try PtyPair(in: workspace.path, name: "csv")
        defer { csvPty.process.stop() }
        let thermometer = try TextSensor.stream("T: 21.50 C RH: 40% OK\r\n", port: regexPty.deviceSide, in: workspace.path, name: "regex")
        defer { thermometer.stop() }
        // Alternating values: avg over each interval is their mean, min and max the extremes.
        let climate = try TextSensor.stream("T=20.0 H=40 P=1013.2\nT=22.0 H=44 P=1013.2\n", port: keyValuePty.deviceSide,
                                            period: .milliseconds(100), in: workspace.path, name: "kv")
        defer { climate.stop() }
        let dust = try TextSensor.respond(["R\r": "PM,{n},125,ok\r\n"], port: csvPty.deviceSide, in: workspace.path, name: "csv")
        defer { dust.stop() }
        // STX/ETX frames with line noise between them, and fixed 8-byte records with no separator at all.
        let framedPty = try PtyPair(in: workspace.path, name: "stx")
        defer { framedPty.process.stop() }
        let framed = try TextSensor.stream("\u{02}T=19.25\u{03}\u{00}\u{FF}garbage\u{02}T=19.25\u{03}", port: framedPty.deviceSide,
                                           in: workspace.path, name: "stx")
        defer { framed.stop() }
        let fixedPty = try PtyPair(in: workspace.path, name: "fixed")
        defer { fixedPty.process.stop() }
        let scale = try TextSensor.stream("+0012.50-0003.25", port: fixedPty.deviceSide, in: workspace.path, name: "fixed")
        defer { scale.stop() }

        let config = try workspace.write(configHead(gateway: "gw", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: b1, type: serial, port: \(regexPty.gatewaySide), baud: 230400}
              - {name: b2, type: serial, port: \(keyValuePty.gatewaySide), baud: 115200, flow: xonxoff}
              - {name: b3, type: serial, port: \(csvPty.gatewaySide), mode: poll, delimiter: "\\r\\n"}
              - {name: b4, type: serial, port: \(framedPty.gatewaySide), framing: start-end, start: "\\x02", end: "\\x03", max_frame: 32}
              - {name: b5, type: serial, port: \(fixedPty.gatewaySide), framing: fixed, length: 8}
            devices:
              - name: thermo
                bus: b1
                interval: 500ms
                aggregate: none
                parser: regex
                pattern: 'T:\\s*(?<temperature>-?\\d+\\.\\d+)\\s*C\\s+RH:\\s*(?<rh>\\d+)%\\s+(?<status>\\w+)'
                points:
                  - {name: temperature_f, field: temperature, scale: 1.8, offset: 32, unit: °F}
                  - {name: rh, type: int, unit: "%"}
                  - {name: status, type: string}
              - name: climate_avg
                bus: b2
                interval: 1s
                parser: keyvalue
                aggregate: avg
                points: [{name: T}, {name: humidity, field: H}]
              - name: climate_max
                bus: b2
                interval: 1s
                parser: keyvalue
                aggregate: max
                points: [{name: T}]
              - name: dust
                bus: b3
                interval: 300ms
                timeout: 500ms
                parser: csv
                request: "R\\r"
                points:
                  - {name: count, column: 1, type: int}
                  - {name: pm25, column: 2, scale: 0.1, unit: µg/m³}
                  - {name: state, column: 3, type: string}
              - {name: framed, bus: b4, interval: 500ms, parser: keyvalue, points: [{name: T}]}
              - {name: weight, bus: b5, interval: 500ms, aggregate: min, parser: regex, pattern: '(?<kg>[-+]\\d+\\.\\d+)', points: [{name: kg}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        let arrived = subscriber.waitFor(timeout: .seconds(20)) { _ in
            ["thermo", "climate_avg", "climate_max", "dust", "framed", "weight"].allSatisfy { self.count(subscriber, $0) >= 3 }
        }
        try #require(arrived, "gateway log:\n\(gateway.stderr)")

        let thermo = subscriber.telemetry(device: "thermo")
        for message in thermo {
            #expect(message.valueText("temperature_f") == "70.7" && message.valueText("rh") == "40"
                    && message.valueText("status") == "\"OK\"", "\(message)")
        }
        // aggregate: none: every frame (five a second) is a reading, not one per 500 ms interval.
        let gaps = zip(thermo, thermo.dropFirst()).map { $1.ts - $0.ts }.sorted()
        #expect(gaps.isEmpty || gaps[gaps.count / 2] < 400, "gaps between thermo readings: \(gaps)")
        for message in subscriber.telemetry(device: "climate_avg").dropFirst() {
            #expect(message.valueText("T") == "21.0" && message.valueText("humidity") == "42.0", "\(message)")
        }
        for message in subscriber.telemetry(device: "climate_max") {
            #expect(message.valueText("T") == "22.0", "\(message)")
        }
        for message in subscriber.telemetry(device: "framed") {
            #expect(message.valueText("T") == "19.25" && message.errors.isEmpty, "\(message)")
        }
        for message in subscriber.telemetry(device: "weight") {
            #expect(message.valueText("kg") == "-3.25", "\(message)")
        }
        let dustMessages = subscriber.telemetry(device: "dust")
        for message in dustMessages {
            #expect(message.valueText("pm25") == "12.5" && message.valueText("state") == "\"ok\"", "\(message)")
        }
        // One request, one reply: the counter the responder puts in each reply goes up by one.
        let counts = dustMessages.compactMap { $0.valueText("count").flatMap(UInt64.init) }
        #expect(counts.count == dustMessages.count && isConsecutive(counts, from: counts.first ?? 0), "\(counts)")
        // The only damage on these lines is the noise between STX/ETX frames.
        let warnings = gateway.logLines(level: "WARNING")
        #expect(warnings.count == 1 && warnings[0].contains("outside the start/end markers") && warnings[0].contains("device=framed"),
                "\(gateway.stderr)")
    }

    @Test("poll mode: a request nobody answers is a timeout for that device only, logged once",
          .timeLimit(.minutes(2)))
    func unansweredRequest() throws {
        let peers = try Peers("serial-poll")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        let pty = try PtyPair(in: workspace.path)
        defer { pty.process.stop() }
        let responder = try TextSensor.respond(["#01\r": ">+021.50\r"], port: pty.deviceSide, in: workspace.path)
        defer { responder.stop() }
        let config = try workspace.write(configHead(gateway: "gw", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: line, type: serial, port: \(pty.gatewaySide), mode: poll, delimiter: "\\r"}
            devices:
              - {name: adc1, bus: line, interval: 250ms, timeout: 200ms, parser: regex, pattern: '>(?<v>[-+]\\d+\\.\\d+)', request: "#01\\r", points: [{name: v}]}
              - {name: adc2, bus: line, interval: 250ms, timeout: 200ms, parser: regex, pattern: '>(?<v>[-+]\\d+\\.\\d+)', request: "#02\\r", points: [{name: v}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        try #require(subscriber.waitFor(device: "adc1", count: 6, timeout: .seconds(20)), "gateway log:\n\(gateway.stderr)")
        #expect(subscriber.telemetry(device: "adc1").allSatisfy { $0.valueText("v") == "21.5" })
        #expect(subscriber.telemetry(device: "adc2").isEmpty)
        let timeouts = gateway.logLines(level: "WARNING", containing: "no reply within 200ms")
        #expect(timeouts.count == 1 && timeouts[0].contains("adc2"), "\(gateway.stderr)")
        let health = try broker.retained("fieldlink/gw/status/adc2") ?? ""
        #expect(health.contains("\"state\":\"failing\"") && health.contains("no reply within 200ms"), "\(health)")
    }

    @Test("a port unplugged (pty pair killed) and plugged back in at the same path: readings resume without a restart",
          .timeLimit(.minutes(2)))
    func unplugAndReplug() throws {
        let peers = try Peers("serial-replug")
        defer { peers.stop() }
        let (workspace, broker, subscriber) = (peers.workspace, peers.broker, peers.subscriber)
        var pty = try PtyPair(in: workspace.path, name: "usb")
        var sensor = try TextSensor.stream("T=1.5 n={n}\n", port: pty.deviceSide, in: workspace.path, name: "before")
        let port = pty.gatewaySide
        let config = try workspace.write(configHead(gateway: "gw", stateDirectory: "\(workspace.path)/state", broker: broker) + """
            buses:
              - {name: usb, type: serial, port: \(port)}
            devices:
              - {name: probe, bus: usb, interval: 300ms, parser: keyvalue, points: [{name: T}, {name: n, type: int}]}

            """, to: "fieldlink.yaml")
        let gateway = try startGateway(config: config, in: workspace.path)
        defer { gateway.stop() }
        defer {
            sensor.stop()
            pty.process.stop()
        }
        try #require(subscriber.waitFor(device: "probe", count: 3, timeout: .seconds(20)), "gateway log:\n\(gateway.stderr)")

        sensor.stop()
        pty.process.stop()
        #expect(eventually(timeout: .seconds(10)) { !gateway.logLines(level: "WARNING", containing: "lost \(port)").isEmpty },
                "\(gateway.stderr)")
        let unplugged = subscriber.telemetry(device: "probe").count
        #expect(eventually(timeout: .seconds(10)) {
            (try? broker.retained("fieldlink/gw/status/probe"))??.contains("\"state\":\"failing\"") == true
        })
        pause(.seconds(2))  // several reopen attempts against a missing port
        #expect(subscriber.telemetry(device: "probe").count <= unplugged + 1)

        pty = try PtyPair(in: workspace.path, name: "usb")
        sensor = try TextSensor.stream("T=2.5 n={n}\n", port: pty.deviceSide, in: workspace.path, name: "after")
        let resumed = subscriber.waitFor(timeout: .seconds(15)) { _ in
            subscriber.telemetry(device: "probe").contains { $0.valueText("T") == "2.5" }
        }
        #expect(resumed, "gateway log:\n\(gateway.stderr)")
        #expect(gateway.isRunning)
        #expect(gateway.logLines(level: "NOTICE", containing: "\(port) is back").count == 1, "\(gateway.stderr)")
        // Logged once per change, not once per reopen attempt.
        #expect(gateway.logLines(level: "WARNING", containing: "cannot use \(port)").count == 1, "\(gateway.stderr)")
        #expect(eventually(timeout: .seconds(10)) {
            (try? broker.retained("fieldlink/gw/status/probe"))??.contains("\"state\":\"ok\"") == true
        })
    }

    private func count(_ subscriber: Subscriber, _ device: String) -> Int {
        subscriber.messages.compactMap(Telemetry.init).filter { $0.device == device }.count
    }
}

@Suite("fieldlink probe on serial devices", .serialized)
struct SerialProbeTests {
    @Test("probe reads one stream period and one poll reply; RS-485 on a pty is refused with a clear error",
          .timeLimit(.minutes(2)))
    func probe() throws {
        let workspace = try Workspace("serial-probe")
        defer { workspace.remove() }
        let gpsPty = try PtyPair(in: workspace.path, name: "gps")
        defer { gpsPty.process.stop() }
        let receiver = try TextSensor.stream(gnssBurst, port: gpsPty.deviceSide, in: workspace.path, name: "gps")
        defer { receiver.stop() }
        let adcPty = try PtyPair(in: workspace.path, name: "adc")
        defer { adcPty.process.stop() }
        // A line of its own: two buses may not share a port.
        let rs485Pty = try PtyPair(in: workspace.path, name: "rs485")
        defer { rs485Pty.process.stop() }
        let adc = try TextSensor.respond(["#01\r": ">+021.50\r"], port: adcPty.deviceSide, in: workspace.path, name: "adc")
        defer { adc.stop() }
        let config = try workspace.write("""
            gateway: {id: gw, state_dir: \(workspace.path)/state}
            time: {trust: always}
            mqtt: {url: "mqtt://127.0.0.1:1"}
            buses:
              - {name: gps, type: serial, port: \(gpsPty.gatewaySide)}
              - {name: adc, type: serial, port: \(adcPty.gatewaySide), mode: poll, delimiter: "\\r"}
              - {name: rs485, type: serial, port: \(rs485Pty.gatewaySide), mode: poll, rs485: true}
            devices:
              - name: gnss
                bus: gps
                interval: 1s
            \(gnssPoints)
              - {name: adc1, bus: adc, interval: 1s, parser: regex, pattern: '>(?<v>[-+]\\d+\\.\\d+)', request: "#01\\r", points: [{name: v, unit: V}]}
              - {name: meter, bus: rs485, interval: 1s, parser: keyvalue, request: "?", points: [{name: T}]}

            """, to: "fieldlink.yaml")

        let gnss = try runFieldlink(["probe", "--config", config, "--device", "gnss"], in: workspace.path, name: "probe-gnss")
        #expect(gnss.status == 0, "\(gnss.stdout)\(gnss.stderr)")
        #expect(gnss.stdout.contains("7 of 7 point(s) read"), "\(gnss.stdout)")
        #expect(gnss.stdout.split(separator: "\n").contains { $0.hasPrefix("latitude") && $0.contains("47.2852395") }, "\(gnss.stdout)")

        let polled = try runFieldlink(["probe", "--config", config, "--device", "adc1"], in: workspace.path, name: "probe-adc")
        #expect(polled.status == 0, "\(polled.stdout)\(polled.stderr)")
        #expect(polled.stdout.split(separator: "\n").contains { $0.hasPrefix("v ") && $0.contains("21.5") && $0.contains("V") }, "\(polled.stdout)")

        let refused = try runFieldlink(["probe", "--config", config, "--device", "meter"], in: workspace.path, name: "probe-rs485")
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("refuses the kernel's RS-485 mode") && refused.stdout.contains("set rs485: false"), "\(refused.stdout)")
    }
}
