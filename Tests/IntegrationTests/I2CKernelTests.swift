import Foundation
import Testing
import TestSupport

/// fieldlink's I2C code against a real Linux i2c-dev driver: an x86 QEMU guest (TCG) with Debian's
/// kernel, i2c-dev and i2c-piix4, where the fieldlink binary itself runs `probe`. The PIIX4 SMBus
/// controller has no plain I2C (I2C_RDWR answers EOPNOTSUPP) and its only devices are writable
/// 256-byte EEPROMs at 0x50-0x57, so the guest first writes sensor register images into them with
/// busybox i2cset; the drivers then read those through the SMBus word/byte path. This proves the
/// ioctl structs, the SMBus fallback and the decoding on a real kernel driver.
@Suite("I2C against a real kernel (QEMU)")
struct I2CKernelTests {
    /// Register images: TMP102 -12.25 °C (0xF3C0) at 0x50, LM75A (11-bit) 85.125 °C (0x5520) at 0x51, a
    /// `registers` device at 0x52 (int16 little-endian -1234, uint16 big-endian 0x1234 scaled by 0.1,
    /// uint32 big-endian 123456 read byte by byte), a chip that is not a BME280 at 0x53, nothing at 0x48;
    /// and an SHT3x at 0x54, whose six-byte read has no SMBus equivalent (I2C_FUNCS says no plain I2C).
    static let guestInit = """
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
        for m in i2c-smbus i2c-dev i2c-piix4; do insmod /lib/modules/$m.ko || echo "GUEST: insmod $m failed"; done
        echo "GUEST: adapter $(cat /sys/class/i2c-adapter/i2c-0/name)"
        # busybox i2cset reads the register in hex whatever its prefix: always pass 0x..
        set_bytes() { a=$1; r=$2; shift 2; for b in "$@"; do i2cset -y 0 $a $r $b b; r=$(printf 0x%02x $((r + 1))); done; }
        set_bytes 0x50 0x00 0xf3 0xc0
        set_bytes 0x51 0x00 0x55 0x20
        set_bytes 0x52 0x10 0x2e 0xfb
        set_bytes 0x52 0x20 0x12 0x34
        set_bytes 0x52 0x40 0x00 0x01 0xe2 0x40
        set_bytes 0x53 0xd0 0x58
        export HOME=/tmp
        for d in cold hot regs absent notbme needsi2c; do
          echo "PROBE-BEGIN $d"
          /bin/fieldlink probe --config /etc/fieldlink.yaml --device $d 2>&1
          echo "PROBE-END $d exit=$?"
        done
        # The gateway itself on the real adapter (its BusLoop thread, the ring, MQTT) with a broker in the guest.
        ip link set lo up
        echo "root:x:0:0:root:/tmp:/bin/sh" > /etc/passwd; echo "root:x:0:" > /etc/group
        printf 'listener 1883 127.0.0.1\nallow_anonymous true\nuser root\npersistence false\n' > /etc/mosquitto.conf
        mosquitto -c /etc/mosquitto.conf -d
        sleep 1
        mosquitto_sub -h 127.0.0.1 -t fieldlink/qemu-guest/cold -t fieldlink/qemu-guest/status/absent -v -C 8 -W 40 > /tmp/sub.out 2>&1 &
        SUB=$!
        fieldlink run --config /etc/fieldlink.yaml 2> /tmp/run.err &
        GATEWAY=$!
        wait $SUB
        kill -TERM $GATEWAY; wait $GATEWAY; echo "GATEWAY-EXIT $?"
        sed 's/^/MQTT: /' /tmp/sub.out
        sed 's/^/GATEWAY-LOG: /' /tmp/run.err
        echo "GUEST: DONE"
        poweroff -f

        """

    static let config = """
        gateway:
          id: qemu-guest
          state_dir: /tmp/state
        time: {trust: always}
        mqtt:
          url: mqtt://127.0.0.1:1883
        buses:
          - {name: header, type: i2c, device: /dev/i2c-0}
        devices:
          - {name: cold, bus: header, driver: tmp102, address: 0x50, interval: 500ms, points: [{name: temperature, unit: °C}]}
          - {name: hot, bus: header, driver: lm75a, address: 0x51, interval: 1s, points: [{name: t, measure: temperature}]}
          - name: regs
            bus: header
            driver: registers
            address: 0x52
            interval: 1s
            points:
              - {name: level, register: 0x10, type: int16, order: little}
              - {name: flow, register: 0x20, type: uint16, scale: 0.1}
              - {name: count, register: 0x40, type: uint32}
          - {name: absent, bus: header, driver: tmp102, interval: 1s, points: [{name: temperature}]}
          - {name: notbme, bus: header, driver: bme280, address: 0x53, interval: 1s, points: [{name: pressure}]}
          - {name: needsi2c, bus: header, driver: sht3x, address: 0x54, interval: 1s, points: [{name: humidity}]}

        """

    @Test("fieldlink in the guest decodes TMP102, LM75 and registers images through /dev/i2c-0 (SMBus only), in probe and run",
          .timeLimit(.minutes(3)))
    func probeInGuest() throws {
        let workspace = try Workspace("i2c-kernel")
        defer { workspace.remove() }
        let qemu = try ChildProcess.locate("qemu-system-x86_64")
        let binary = try fieldlinkBinary()
        try workspace.write(Self.guestInit, to: "root/init")
        try workspace.write(Self.config, to: "root/etc/fieldlink.yaml")
        let packer = try ChildProcess("\(packageRoot)/scripts/qemu-i2c-initramfs.sh",
                                      ["\(workspace.path)/root", "\(workspace.path)/initramfs.cpio", binary,
                                       try ChildProcess.locate("mosquitto"), try ChildProcess.locate("mosquitto_sub")],
                                      in: workspace.path, name: "initramfs")
        defer { packer.stop() }
        guard packer.waitForExit(timeout: .seconds(60)), packer.process.terminationStatus == 0 else {
            throw MissingPrerequisite("could not build the guest's initramfs: \(packer.stderr)")
        }
        let kernel = packer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let started = ContinuousClock.now
        let guest = try ChildProcess(qemu, ["-M", "pc", "-accel", "tcg", "-m", "1024", "-smp", "1",
                                            "-kernel", kernel, "-initrd", "\(workspace.path)/initramfs.cpio",
                                            "-append", "console=ttyS0 panic=-1 quiet",
                                            "-nodefaults", "-no-user-config", "-display", "none", "-nic", "none",
                                            "-serial", "stdio", "-no-reboot"],
                                     in: workspace.path, name: "qemu")
        defer { guest.stop(signal: SIGKILL) }
        let finished = guest.waitForExit(timeout: .seconds(120))
        let console = guest.stdout.replacingOccurrences(of: "\r", with: "")
        try #require(finished, "the guest did not power off within 120 s; console:\n\(console)\n\(guest.stderr)")
        print("I2C guest run: \(started.duration(to: .now)) from QEMU start to power-off")

        try #require(console.contains("GUEST: adapter SMBus PIIX4 adapter"), "console:\n\(console)")
        let cold = Self.section("cold", in: console)
        #expect(cold.contains("exit=0"), "\(cold)")
        #expect(Self.row("temperature", in: cold) == ["temperature", "-12.25", "°C", "temperature"], "\(cold)")
        let hot = Self.section("hot", in: console)
        #expect(Self.row("t", in: hot)?.prefix(2) == ["t", "85.125"], "\(hot)")
        let registers = Self.section("regs", in: console)
        #expect(Self.row("level", in: registers)?[1] == "-1234", "\(registers)")
        #expect(Self.row("flow", in: registers)?[1] == "466.0", "\(registers)")
        #expect(Self.row("count", in: registers)?[1] == "123456", "\(registers)")
        let absent = Self.section("absent", in: console)
        #expect(absent.contains("ERROR: no device at 0x48"), "\(absent)")
        #expect(absent.contains("exit=1"), "\(absent)")
        let notBME = Self.section("notbme", in: console)
        #expect(notBME.contains("ERROR: chip id 0x58 at 0x53 is not a BME280 (expected 0x60)"), "\(notBME)")
        let needsI2C = Self.section("needsi2c", in: console)
        #expect(needsI2C.contains("ERROR: the adapter cannot read 6 bytes without a register pointer at 0x54"), "\(needsI2C)")

        // `fieldlink run` in the guest: the cold device's readings reach the guest's broker; the absent
        // one's status says why it is silent; SIGTERM stops it cleanly.
        let mqtt = console.split(separator: "\n").filter { $0.hasPrefix("MQTT: ") }
        let coldMessages = mqtt.filter { $0.hasPrefix("MQTT: fieldlink/qemu-guest/cold ") }
        #expect(coldMessages.count >= 2 && coldMessages.allSatisfy { $0.contains("\"temperature\":-12.25") }, "\(mqtt)")
        #expect(mqtt.contains { $0.hasPrefix("MQTT: fieldlink/qemu-guest/status/absent ") && $0.contains("no device at 0x48") }, "\(mqtt)")
        #expect(console.contains("GATEWAY-EXIT 0"), "console:\n\(console)")
    }

    /// The console lines between `PROBE-BEGIN name` and `PROBE-END name`, with the exit status.
    static func section(_ name: String, in console: String) -> String {
        guard let begin = console.range(of: "PROBE-BEGIN \(name)\n"),
              let end = console.range(of: "PROBE-END \(name) ", range: begin.upperBound..<console.endIndex) else { return "" }
        let tail = console[end.upperBound...].prefix { $0 != "\n" }
        return String(console[begin.upperBound..<end.lowerBound]) + "exit=" + tail.dropFirst("exit=".count)
    }

    /// A probe table row's cells (split on runs of two or more spaces).
    static func row(_ point: String, in section: String) -> [String]? {
        section.split(separator: "\n").map { line in
            line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }.first { $0.first == point }
    }
}
