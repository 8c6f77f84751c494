// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "fedpulse",
    products: [.executable(name: "fedpulse", targets: ["fedpulse"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // MARK: - C
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),

        // MARK: - Pure core (no I/O)
        .target(name: "Wire"),
        .target(name: "Learning"),
        .target(name: "Federation", dependencies: ["Learning", "Wire"]),
        .target(name: "Privacy", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Every role's round logic as pure state machines (events in, actions out).
        .target(name: "Rounds", dependencies: ["Wire", "Learning", "Federation", "Privacy", "SecureAggregation"]),
        // SecAgg+ primitives and protocol state machines (issue 10); swift-crypto only.
        .target(
            name: "SecureAggregation",
            dependencies: [
                "Wire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),

        // MARK: - Shells
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        .target(
            name: "Runtime",
            dependencies: [
                "ZeroMQ", "Wire", "Learning", "Federation", "Privacy", "Rounds", "SecureAggregation",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The lab topology file (Sources/Runtime/Lab).
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // MARK: - Executables
        .executableTarget(
            name: "fedpulse",
            dependencies: [
                "Runtime", "ZeroMQ", "Wire", "Learning", "Federation", "Privacy", "Rounds",
                "SecureAggregation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "fedpulse-bench",
            dependencies: [
                "Learning", "Federation", "Runtime", "Wire", "ZeroMQ", "CZeroMQ", "SecureAggregation",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/FedPulseBench"
        ),

        // MARK: - Tests
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "WireTests", dependencies: ["Wire"]),
        .testTarget(name: "LearningTests", dependencies: ["Learning"]),
        .testTarget(name: "FederationTests", dependencies: ["Federation", "Learning", "Wire"]),
        .testTarget(name: "PrivacyTests", dependencies: ["Privacy"], exclude: ["Fixtures"]),
        .testTarget(
            name: "SecureAggregationTests",
            dependencies: [
                "SecureAggregation", "Wire", "Learning",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "RoundsTests",
            dependencies: ["Rounds", "Wire", "Learning", "Federation", "Privacy", "SecureAggregation"]
        ),
        .testTarget(
            name: "RuntimeTests",
            dependencies: [
                "Runtime", "Wire", "ZeroMQ", "FedPulseTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .target(name: "FedPulseTestSupport", dependencies: ["Runtime", "Wire", "ZeroMQ", "Learning"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["FedPulseTestSupport", "Runtime", "Wire", "Learning", "ZeroMQ"]
        ),
        .testTarget(
            name: "PrivacyEndToEndTests",
            dependencies: [
                "FedPulseTestSupport", "Runtime", "Privacy", "Wire", "Learning", "ZeroMQ", "SecureAggregation",
            ]
        ),
    ]
)

// Same settings for every Swift target of ours; dependencies are not affected.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    settings.append(.treatAllWarnings(as: .error))
    target.swiftSettings = settings
}
