// swift-tools-version:6.1
import PackageDescription

// One set of settings for every Swift target (Hummingbird's convention).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "nats-alerter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nats-alerter", targets: ["nats-alerter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // MARK: C libraries (system packages; the only places C headers enter the build)
        .systemLibrary(
            name: "CNats",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CRE2System",
            pkgConfig: "re2",
            providers: [.apt(["libre2-dev"])]
        ),
        // RE2 behind a C interface (compile, full match, free): the regex
        // engine of every matcher, as Go's regexp is Alertmanager's.
        .target(
            name: "CRE2",
            dependencies: ["CRE2System"]
        ),
        // protoc-c output for proto/, committed; regenerate with scripts/generate-proto.sh.
        .target(
            name: "CAlertProto",
            dependencies: ["CProtobufC"],
            cSettings: [.unsafeFlags(["-Wno-everything"])]
        ),

        // MARK: Swift modules (docs/ARCHITECTURE.md, "Modules and who imports whom")
        .target(
            name: "AlertCore",
            dependencies: [
                "CRE2",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AlertIngest",
            dependencies: [
                "AlertCore", "CNats", "CAlertProto", "CProtobufC",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AlertNotify",
            dependencies: [
                "AlertCore", "CCurl",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AlertService",
            dependencies: [
                "AlertCore", "AlertIngest", "AlertNotify",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "nats-alerter",
            dependencies: [
                "AlertService", "AlertCore", "AlertIngest", "AlertNotify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The benchmark harness and load generator (scripts/bench.sh); not shipped.
        .executableTarget(
            name: "nats-alerter-bench",
            dependencies: [
                "AlertIngest", "AlertCore", "CNats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Fuzzing (Tests/Fuzz, scripts/fuzz.sh): what each libFuzzer target runs per input;
        // built and run over the committed corpus by the normal build and FuzzCorpusTests.
        .target(
            name: "IngestFuzzing",
            dependencies: ["AlertCore", "AlertIngest", .product(name: "Logging", package: "swift-log")],
            path: "Tests/Fuzz/IngestHarness",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ServiceFuzzing",
            dependencies: ["AlertService", "AlertCore"],
            path: "Tests/Fuzz/ServiceHarness",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests — one target per module; integration tests need real servers.
        .target(name: "AlertTestSupport", dependencies: ["AlertCore"], path: "Tests/AlertTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "AlertCoreTests",
            dependencies: ["AlertCore", "AlertTestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "AlertIngestTests", dependencies: ["AlertIngest", "AlertCore", "CNats", "AlertTestSupport", "IngestFuzzing"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "AlertNotifyTests", dependencies: ["AlertNotify", "AlertCore", "AlertTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AlertServiceTests",
            dependencies: ["AlertService", "AlertCore", "AlertIngest", "AlertNotify", "AlertTestSupport",
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuzzCorpusTests",
            dependencies: ["IngestFuzzing", "ServiceFuzzing", "AlertCore"],
            path: "Tests/Fuzz/CorpusTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "AlertIngest", "AlertCore", "AlertService", "AlertNotify", "CNats", "AlertTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    cxxLanguageStandard: .cxx17
)

// The libFuzzer executables exist only in fuzz builds (scripts/fuzz.sh sets
// NATS_ALERTER_FUZZ=1 and builds with -sanitize=fuzzer,address into
// .build-fuzz): they call libFuzzer's driver, which only a fuzzer build links.
if Context.environment["NATS_ALERTER_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, harness: String)] = [
        ("fuzz-protobuf-event", "IngestFuzzing"), ("fuzz-json-event", "IngestFuzzing"), ("fuzz-sample", "IngestFuzzing"),
        ("fuzz-matcher", "IngestFuzzing"), ("fuzz-config", "ServiceFuzzing"), ("fuzz-silence-api", "ServiceFuzzing"),
        ("fuzz-duplicate-path", "IngestFuzzing"),
    ]
    package.targets.append(.target(name: "FuzzDriver", path: "Tests/Fuzz/Driver", swiftSettings: swiftSettings))
    for (name, harness) in fuzzTargets {
        package.targets.append(.executableTarget(
            name: name, dependencies: ["FuzzDriver", .target(name: harness)], path: "Tests/Fuzz/Targets/\(name)", swiftSettings: swiftSettings
        ))
        package.products.append(.executable(name: name, targets: [name]))
    }
}
