// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "fieldlink",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fieldlink", targets: ["fieldlink"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        // Runtime only: the Sparkplug B code is generated once (scripts/generate-sparkplug.sh) and committed.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // C at the edge: one systemLibrary target per library, found through pkg-config.
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),

        // termios/RS-485 and i2c-dev ioctl numbers and structs, as real C symbols (a tiny shim, no library).
        .target(name: "CLinuxIO"),

        // errno as a typed error, EINTR retried: the one helper every family's C-facing code calls.
        .target(name: "FieldlinkPOSIX", dependencies: ["CLinuxIO"]),

        // YAML text -> a node tree with marks, tags and styles (libyaml's event parser, YAML 1.1 typing).
        .target(name: "FieldlinkYAML", dependencies: ["CYAML"]),

        // The model: config, values, readings, schedule. No C.
        .target(
            name: "FieldlinkCore",
            dependencies: [
                "FieldlinkPOSIX", "FieldlinkYAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Driver families.
        .target(name: "FieldlinkModbus", dependencies: ["FieldlinkCore", "CModbus"]),
        .target(name: "FieldlinkI2C", dependencies: ["FieldlinkCore", "FieldlinkPOSIX", "CLinuxIO"]),
        .target(name: "FieldlinkSerial", dependencies: ["FieldlinkCore", "FieldlinkPOSIX", "CLinuxIO"]),
        // Reading -> bytes.
        .target(
            name: "FieldlinkPayload",
            dependencies: ["FieldlinkCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Sparkplug/sparkplug_b.proto"]
        ),
        // Bytes waiting for the broker's acknowledgement.
        .target(
            name: "FieldlinkBuffer",
            dependencies: [
                "FieldlinkCore", "FieldlinkPOSIX",
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // Reading -> messages in the ring: seq, on-change, per-point routes, batches, the Sparkplug session.
        .target(
            name: "FieldlinkPipeline",
            dependencies: [
                "FieldlinkCore", "FieldlinkPayload",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The uplink: reads any `MessageRing` (FieldlinkCore), so it does not know the disk ring.
        .target(name: "FieldlinkMQTT", dependencies: ["FieldlinkCore", "FieldlinkPOSIX", "CMosquitto"]),
        // Living under systemd: journald log handler, sd_notify and the watchdog.
        .target(
            name: "FieldlinkSystemd",
            dependencies: [
                "FieldlinkCore", "FieldlinkPOSIX", "CSystemd", "CLinuxIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What the gateway tells its keepers: `fieldlink status` over a Unix socket, the Prometheus textfile.
        .target(
            name: "FieldlinkOperability",
            dependencies: [
                "FieldlinkCore", "FieldlinkPOSIX", "CLinuxIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The executable: CLI and wiring.
        .executableTarget(
            name: "fieldlink",
            dependencies: [
                "FieldlinkCore", "FieldlinkModbus", "FieldlinkPipeline", "FieldlinkBuffer", "FieldlinkMQTT", "FieldlinkSystemd",
                "FieldlinkI2C",
                "FieldlinkSerial", "FieldlinkOperability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // Real peers for tests (mosquitto, socat, the pymodbus simulator), started and stopped by PID.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The bus boundary's test clock and recording sink, for every family's unit tests.
        .target(name: "BusTestSupport", dependencies: ["FieldlinkCore", .product(name: "Logging", package: "swift-log")], path: "Tests/BusTestSupport"),
        // The loader is tested with the real Modbus family: it is the one that claims the bus/device/point keys.
        .testTarget(name: "FieldlinkCoreTests", dependencies: ["FieldlinkCore", "FieldlinkModbus", "TestSupport", "BusTestSupport"]),
        .testTarget(name: "FieldlinkModbusTests", dependencies: ["FieldlinkModbus", "BusTestSupport", "FieldlinkYAML"]),
        .testTarget(name: "FieldlinkPOSIXTests", dependencies: ["FieldlinkPOSIX"]),
        .testTarget(name: "FieldlinkYAMLTests", dependencies: ["FieldlinkYAML"]),
        .testTarget(name: "FieldlinkI2CTests", dependencies: ["FieldlinkI2C", "BusTestSupport"]),
        .testTarget(name: "FieldlinkSerialTests", dependencies: ["FieldlinkSerial", "TestSupport", "BusTestSupport"]),
        .testTarget(name: "FieldlinkPayloadTests", dependencies: ["FieldlinkPayload"]),
        // FieldlinkPayload and SwiftProtobuf: to decode what the Sparkplug session sends.
        .testTarget(
            name: "FieldlinkPipelineTests",
            dependencies: [
                "FieldlinkPipeline", "FieldlinkPayload", "TestSupport", "BusTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(name: "FieldlinkBufferTests", dependencies: ["FieldlinkBuffer", "BusTestSupport"]),
        .testTarget(name: "FieldlinkSystemdTests", dependencies: ["FieldlinkSystemd"]),
        .testTarget(name: "FieldlinkMQTTTests", dependencies: ["FieldlinkMQTT", "FieldlinkBuffer", "TestSupport"]),
        .testTarget(name: "FieldlinkOperabilityTests", dependencies: ["FieldlinkOperability", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport"]),

        // libFuzzer harnesses (`make fuzz`): built with -sanitize=fuzzer,address -DFUZZING; a stub otherwise.
        .executableTarget(
            name: "fieldlink-fuzz",
            dependencies: [
                "FieldlinkCore", "FieldlinkSerial", "FieldlinkModbus", "FieldlinkI2C", "FieldlinkBuffer", "FieldlinkPayload",
                .product(name: "Logging", package: "swift-log"),
                // To decode what the Sparkplug encoder wrote with the generated type.
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "fuzz/Harness"
        ),

        // Store-and-forward ring benchmark driver (bench/ring.sh); bench code stays out of Sources/.
        .executableTarget(
            name: "ring-bench",
            dependencies: [
                "FieldlinkBuffer", "FieldlinkMQTT", "FieldlinkCore", "FieldlinkPayload", "FieldlinkPipeline",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/RingBench"
        ),
    ]
)

// One settings list for every target: Swift 6 language mode everywhere.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    target.swiftSettings = settings
}
