import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WeftControlAPI
import WeftController
import WeftModel
import WeftPKI
import WeftPlanner

/// Fan-out: `clients` nodes join (certificates from the CA), each watches its state over
/// its own mTLS connection to the controller on loopback; then one node is revoked in the
/// cluster spec (every other node's state changes: a peer gone, a quarantine entry) and
/// the time from the spec update until each client has received its delta is measured.
/// The cluster file's polling interval (0.5 s) is not included.
func fanout(clients: Int) async throws -> (p50: Double, p99: Double, affected: Int, setup: Double) {
    let clock = ContinuousClock()
    let setupStart = clock.now
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-fanout-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let nodes = (0..<clients).map { i in
        NodeSpec(name: String(format: "node-%05d", i), underlay: "10.0.\(i / 250).\(1 + i % 250)", podCIDR: "10.\(64 + i / 256).\(i % 256).0/24")
    }
    let pods = nodes.enumerated().map { i, node in
        PodSpec(name: "pod-\(i)", node: node.name, address: "10.\(64 + i / 256).\(i % 256).10", labels: ["app": "app-\(i % 50)"])
    }
    var spec = ClusterSpec(cluster: ClusterIdentity(name: "fanout", id: "fanout"), encryption: EncryptionSettings(enabled: true, rotationSeconds: 0),
                           nodes: nodes, pods: pods)
    let plane = try ControlPlane(stateDirectory: directory, spec: spec)
    var identities: [(NodeIdentity, String)] = []
    for node in nodes {
        let identity = NodeIdentity(name: node.name)
        let token = try await plane.createToken(node: node.name, ttl: 600)
        let certificate = try await plane.join(node: node.name, token: token, csrPEM: try identity.certificateSigningRequestPEM(), incarnation: "1")
        identities.append((identity, try certificate.serializeAsPEM().pemString))
    }
    let server = try ControlServer(plane: plane, nodeListen: ("127.0.0.1", 0), joinListen: ("127.0.0.1", 0))
    let serving = Task { try await server.serve() }
    guard let port = try await server.node.listeningAddress?.ipv4?.port else { throw PlanError("no listening port") }
    let ca = Array(plane.ca.certificatePEM.utf8)

    let ready = Counter(), arrivals = Arrivals()
    let start = Instant()
    let watchers = Task {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (identity, certificate) in identities {
                group.addTask {
                    do {
                        try await withGRPCClient(transport: .http2NIOPosix(
                            target: .ipv4(address: "127.0.0.1", port: port),
                            transportSecurity: .mTLS(certificateChain: [.bytes(Array(certificate.utf8), format: .pem)],
                                                     privateKey: .bytes(Array(identity.signingKey.pemRepresentation.utf8), format: .pem)) {
                                $0.trustRoots = .certificates([.bytes(ca, format: .pem)])
                            })) { client in
                            try await Weft_V1_Control.Client(wrapping: client).watch(Weft_V1_WatchRequest()) { response in
                                for try await update in response.messages {
                                    if case .snapshot? = update.update { ready.increment() }
                                    if case .delta? = update.update { arrivals.record(start.elapsed()); return }
                                }
                            }
                        }
                    } catch {}  // the revoked node's stream ends with PERMISSION_DENIED
                }
            }
            try await group.waitForAll()
        }
    }
    while ready.value < clients { try await Task.sleep(for: .milliseconds(50)) }
    let setup = seconds(clock.now - setupStart)
    spec.revoked = [nodes[0].name]
    start.reset()
    let changed = try await plane.update(spec: spec)
    while arrivals.count < changed.count { try await Task.sleep(for: .milliseconds(5)) }
    watchers.cancel()
    server.beginGracefulShutdown()
    await plane.endStreams()
    serving.cancel()
    let sorted = arrivals.values.sorted()
    return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)], changed.count, setup)
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

final class Arrivals: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Double] = []
    func record(_ seconds: Double) { lock.withLock { list.append(seconds) } }
    var count: Int { lock.withLock { list.count } }
    var values: [Double] { lock.withLock { list } }
}

final class Instant: @unchecked Sendable {
    private let lock = NSLock()
    private var at = ContinuousClock.now
    func reset() { lock.withLock { at = ContinuousClock.now } }
    func elapsed() -> Double { seconds(ContinuousClock.now - lock.withLock { at }) }
}
