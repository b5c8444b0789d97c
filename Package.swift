// swift-tools-version:6.1
import PackageDescription

// Every target is Swift 6 language mode (strict concurrency) with the same upcoming features
// (given to each at the end of this file).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hookline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HooklineKafka", targets: ["HooklineKafka"]),
        .library(name: "HooklineWebhooks", targets: ["HooklineWebhooks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // MARK: - librdkafka

        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "HooklineKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/HooklineKafka"
        ),

        // MARK: - Webhook verification

        .target(
            name: "HooklineWebhooks",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Shared/HooklineWebhooks"
        ),

        // MARK: - Configuration

        .target(
            name: "HooklineConfig",
            dependencies: [
                "HooklineWebhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Shared/HooklineConfig"
        ),

        // MARK: - Gateway

        // MARK: - HTTP pieces every Hookline server shares

        .target(
            name: "HooklineHTTP",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log")],
            path: "Shared/HooklineHTTP"
        ),
        .target(
            name: "HooklineGateway",
            dependencies: [
                "HooklineConfig",
                "HooklineHTTP",
                "HooklineKafka",
                "HooklineWebhooks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Shared/HooklineGateway"
        ),

        // MARK: - Consumer kit (what every consumer service is built on)

        .target(
            name: "HooklineConsumerKit",
            dependencies: [
                "HooklineConfig",
                "HooklineKafka",
                "HooklineWebhooks",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/HooklineConsumerKit"
        ),

        // MARK: - The consumer services (the executables' library)

        .target(
            name: "HooklineServices",
            dependencies: [
                "HooklineConfig",
                "HooklineHTTP",
                "HooklineConsumerKit",
                "HooklineKafka",
                "HooklineWebhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Shared/HooklineServices"
        ),

        // MARK: - Lag monitoring

        .target(
            name: "HooklineLag",
            dependencies: ["HooklineKafka", .product(name: "Logging", package: "swift-log")],
            path: "Shared/HooklineLag"
        ),
        .target(
            name: "HooklineMonitor",
            dependencies: [
                "HooklineConfig",
                "HooklineHTTP",
                "HooklineKafka",
                "HooklineLag",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Shared/HooklineMonitor"
        ),

        // MARK: - Test and benchmark support

        .target(
            name: "HooklineTestSupport",
            dependencies: [
                "HooklineConfig",
                "HooklineGateway",
                "HooklineKafka",
                "HooklineWebhooks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/HooklineTestSupport"
        ),

        // MARK: - Executables

        .executableTarget(
            name: "hookline-gateway",
            dependencies: [
                "HooklineConfig",
                "HooklineGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Gateway"
        ),
        .executableTarget(
            name: "hookline-orders",
            dependencies: ["HooklineServices"],
            path: "Services/Orders"
        ),
        .executableTarget(
            name: "hookline-payments",
            dependencies: ["HooklineServices"],
            path: "Services/Payments"
        ),
        .executableTarget(
            name: "hookline-ci",
            dependencies: ["HooklineServices"],
            path: "Services/CI"
        ),
        .executableTarget(
            name: "hookline",
            dependencies: [
                "HooklineConfig",
                "HooklineConsumerKit",
                "HooklineKafka",
                "HooklineLag",
                "HooklineWebhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Services/CLI"
        ),
        .executableTarget(
            name: "hookline-monitor",
            dependencies: [
                "HooklineConfig",
                "HooklineMonitor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Monitor"
        ),
        .executableTarget(
            name: "hookline-demo",
            dependencies: [
                "HooklineKafka",
                "HooklineTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Demo"
        ),
        .executableTarget(
            name: "hookline-bench",
            dependencies: [
                "HooklineConfig",
                "HooklineConsumerKit",
                "HooklineServices",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "HooklineGateway",
                "HooklineKafka",
                "HooklineWebhooks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Services/Bench"
        ),

        // MARK: - Tests

        .testTarget(
            name: "HooklineKafkaTests",
            dependencies: [
                "HooklineKafka",
                "HooklineTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HooklineKafkaTests"
        ),
        .testTarget(
            name: "HooklineGatewayTests",
            dependencies: [
                "HooklineConfig",
                "HooklineGateway",
                "HooklineKafka",
                "HooklineTestSupport",
                "HooklineWebhooks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/HooklineGatewayTests"
        ),
        .testTarget(
            name: "HooklineConsumerKitTests",
            dependencies: [
                "HooklineConfig",
                "HooklineConsumerKit",
                "HooklineKafka",
                "HooklineTestSupport",
                "HooklineWebhooks",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/HooklineConsumerKitTests"
        ),
        .testTarget(
            name: "HooklineServicesTests",
            dependencies: [
                "HooklineConfig",
                "HooklineConsumerKit",
                "HooklineKafka",
                "HooklineServices",
                "HooklineTestSupport",
                "HooklineWebhooks",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/HooklineServicesTests"
        ),
        .testTarget(
            name: "HooklineLagTests",
            dependencies: ["HooklineKafka", "HooklineLag"],
            path: "Tests/HooklineLagTests"
        ),
        .testTarget(
            name: "HooklineMonitorTests",
            dependencies: [
                "HooklineConfig",
                "HooklineKafka",
                "HooklineLag",
                "HooklineMonitor",
                "HooklineTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/HooklineMonitorTests"
        ),
        .testTarget(
            name: "HooklineCLITests",
            dependencies: [
                "HooklineConfig",
                "HooklineConsumerKit",
                "HooklineKafka",
                "HooklineTestSupport",
                "HooklineWebhooks",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/HooklineCLITests"
        ),
        .testTarget(
            name: "HooklineConfigTests",
            dependencies: ["HooklineConfig"],
            path: "Tests/HooklineConfigTests"
        ),
        .testTarget(
            name: "HooklineWebhooksTests",
            dependencies: [
                "HooklineWebhooks",
                "HooklineTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/HooklineWebhooksTests"
        ),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
