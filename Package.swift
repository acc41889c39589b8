// swift-tools-version:6.1
import PackageDescription

// Weft: an encrypted VXLAN overlay. See docs/architecture.md for how the targets fit.
let package = Package(
    name: "Weft",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Netlink", targets: ["Netlink"]),
        .executable(name: "weftctl", targets: ["weftctl"]),
        .executable(name: "weft-bench-netlink", targets: ["weft-bench-netlink"]),
        .executable(name: "weft-agent", targets: ["weft-agent"]),
        .executable(name: "weft-bench-agent", targets: ["weft-bench-agent"]),
        .executable(name: "weft-bench-controller", targets: ["weft-bench-controller"]),
        .executable(name: "weft-controller", targets: ["weft-controller"]),
        .executable(name: "weft-cni", targets: ["weft-cni"]),
        .executable(name: "weft-probe", targets: ["weft-probe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // System libraries. libmnl carries the netlink socket; libbpf loads and attaches
        // eBPF programs. Why these and not libnl-3 or OpenSSL: docs/dependencies.md.
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]
        ),
        .systemLibrary(
            name: "CBPF",
            pkgConfig: "libbpf",
            providers: [.apt(["libbpf-dev", "libelf-dev", "zlib1g-dev"])]
        ),

        // Address values (IPv4/IPv6, prefixes, MACs, families): pure, no system library.
        .target(name: "Addresses"),
        // Netlink: the wire codec (pure) and the socket. Knows nothing about Weft.
        .target(name: "Netlink", dependencies: ["CNetlink", "Addresses"]),
        // BPF: libbpf feature probes now; program loading and tc attach come with the agent.
        .target(name: "BPF", dependencies: ["CBPF"]),

        // Desired node state: the document the controller sends and the agent applies.
        .target(name: "WeftModel"),
        // Files holding secrets or security state: 0600 from the start, atomic, fsync'd.
        .target(name: "WeftFiles"),
        // The CNI plugin's wire formats (spec 0.3.0-1.1.0, weft-cni <-> agent) and weft-cni itself.
        .target(name: "WeftCNI", dependencies: ["Addresses"]),
        .executableTarget(name: "weft-cni", dependencies: ["WeftCNI"]),
        // The lab's test image (weft.local/probe:1): serve and connect on TCP and UDP.
        .executableTarget(name: "weft-probe"),
        // The agent's reconciler: desired state → diff against the kernel → netlink requests.
        .target(name: "WeftAgent", dependencies: ["Netlink", "BPF", "WeftModel", "WeftFiles", "WeftCNI", .product(name: "Crypto", package: "swift-crypto")]),
        // weft-agent run: the daemon as Services in a ServiceGroup (sources, reconcile loop,
        // kernel events, renewal, acknowledgements, metrics).
        .target(name: "WeftAgentDaemon", dependencies: ["WeftAgent", "WeftCNI", "WeftModel", "WeftPKI", "WeftFiles", "WeftControlAPI", "WeftMetrics", "Netlink",
                                                        .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                        .product(name: "X509", package: "swift-certificates"),
                                                        .product(name: "Crypto", package: "swift-crypto"),
                                                        .product(name: "Logging", package: "swift-log"),
                                                        .product(name: "NIOPosix", package: "swift-nio"),
                                                        .product(name: "Prometheus", package: "swift-prometheus"),
                                                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                        .product(name: "UnixSignals", package: "swift-service-lifecycle")]),
        .executableTarget(name: "weft-agent", dependencies: ["WeftAgentDaemon", "WeftAgent", "WeftMetrics", "Netlink",
                                                             .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                             .product(name: "Crypto", package: "swift-crypto"),
                                                             .product(name: "Logging", package: "swift-log")]),

        // The Kubernetes API as a source: endpoint (in-cluster, kubeconfig), HTTPS client,
        // list/watch reflectors, and the objects turned into the planner's input.
        .target(name: "WeftKubernetes", dependencies: ["WeftModel", "WeftPlanner",
                                                       .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                       .product(name: "NIOCore", package: "swift-nio"),
                                                       .product(name: "NIOHTTP1", package: "swift-nio"),
                                                       .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                       .product(name: "Logging", package: "swift-log"),
                                                       .product(name: "Yams", package: "Yams")]),

        // The controller's pure computation: cluster spec → per-node desired state, incremental.
        .target(name: "WeftPlanner", dependencies: ["WeftModel"]),
        // What both daemons share: the /metrics and /healthz endpoint (and its Service), stop signals.
        .target(name: "WeftMetrics", dependencies: [.product(name: "Prometheus", package: "swift-prometheus"),
                                                    .product(name: "NIOCore", package: "swift-nio"),
                                                    .product(name: "NIOPosix", package: "swift-nio"),
                                                    .product(name: "NIOHTTP1", package: "swift-nio"),
                                                    .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        // Cluster CA, node certificates from CSRs, join tokens, the signed audit log.
        .target(name: "WeftPKI", dependencies: ["WeftFiles", .product(name: "Crypto", package: "swift-crypto"),
                                                .product(name: "X509", package: "swift-certificates"),
                                                .product(name: "SwiftASN1", package: "swift-asn1")]),
        // Generated from Protos/weft/v1/control.proto by scripts/gen-proto (committed).
        .target(name: "WeftControlAPI", dependencies: [.product(name: "GRPCCore", package: "grpc-swift-2"),
                                                       .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                                                       .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The controller: sources (the YAML cluster file), the control plane, the gRPC service.
        .target(name: "WeftController", dependencies: ["WeftPlanner", "WeftModel", "WeftKubernetes", "WeftPKI", "WeftFiles", "WeftControlAPI", "WeftMetrics",
                                                       .product(name: "Yams", package: "Yams"),
                                                       .product(name: "Prometheus", package: "swift-prometheus"),
                                                       .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                       .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                       .product(name: "NIOCore", package: "swift-nio"),
                                                       .product(name: "NIOTLS", package: "swift-nio"),
                                                       .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                       .product(name: "Crypto", package: "swift-crypto"),
                                                       .product(name: "X509", package: "swift-certificates"),
                                                       .product(name: "Logging", package: "swift-log"),
                                                       .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                       .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .executableTarget(name: "weft-controller", dependencies: ["WeftController", "WeftKubernetes", "WeftModel", "WeftMetrics", "WeftFiles",
                                                                  .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                                  .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                                  .product(name: "Logging", package: "swift-log"),
                                                                  .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .executableTarget(name: "weft-bench-controller", dependencies: ["WeftPlanner", "WeftModel", "WeftController", "WeftKubernetes", "WeftPKI", "WeftFiles", "WeftControlAPI",
                                                                        .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                                        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                                        .product(name: "Logging", package: "swift-log")]),

        // weftctl's commands and output formatting, kept in a library so tests can call them.
        .target(name: "WeftCtlKit", dependencies: ["Netlink", "BPF", "WeftAgent", "WeftModel", "WeftPKI", "WeftControlAPI",
                                                   .product(name: "Crypto", package: "swift-crypto"),
                                                   .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                   .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                   .product(name: "X509", package: "swift-certificates")]),
        .executableTarget(name: "weftctl", dependencies: ["WeftCtlKit"]),
        .executableTarget(name: "weft-bench-netlink", dependencies: ["Netlink"]),
        .executableTarget(name: "weft-bench-agent", dependencies: ["WeftAgent", "WeftModel", "Netlink"]),

        .testTarget(
            name: "NetlinkTests",
            dependencies: ["Netlink", "CNetlink"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Netlink", "WeftCtlKit", "BPF", "WeftAgent", "WeftAgentDaemon", "WeftModel", "WeftTestSupport",
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "CNITests", dependencies: ["WeftCNI", "WeftAgent", "Addresses"]),
        .testTarget(name: "AgentTests", dependencies: ["WeftAgent", "WeftAgentDaemon", "WeftControlAPI", "WeftModel", "Netlink", "WeftTestSupport",
                                                       .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "ControllerTests", dependencies: ["WeftPlanner", "WeftController", "WeftKubernetes", "WeftModel", "WeftPKI", "WeftAgent", "Netlink",
                                                            "WeftControlAPI", "WeftMetrics", "WeftFiles",
                                                            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                            .product(name: "Prometheus", package: "swift-prometheus"),
                                                            .product(name: "GRPCCore", package: "grpc-swift-2"),
                                                            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                                                            .product(name: "Crypto", package: "swift-crypto"),
                                                            .product(name: "X509", package: "swift-certificates"),
                                                            .product(name: "Yams", package: "Yams")],
                    resources: [.copy("Fixtures")]),
        // Sample desired states shared by the pure and the kernel tests.
        .target(name: "WeftTestSupport", dependencies: ["WeftModel"], path: "Tests/Support"),
    ],
    swiftLanguageModes: [.v6]
)
