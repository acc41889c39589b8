import Foundation
import WeftFiles
import GRPCCore
import GRPCNIOTransportHTTP2
import WeftControlAPI
import WeftController
import WeftModel
import WeftPKI
import WeftPlanner

/// Fan-out: `clients` nodes join (certificates from the CA), each watches its state over
/// its own mTLS connection to the controller on loopback, from a child process
/// (FanoutClients.swift); then one node is revoked in the cluster spec (every other node's
/// state changes: a peer gone, a quarantine entry) and the time from the spec update until
/// each client has received its delta is measured. The cluster file's polling interval
/// (0.5 s) is not included.
func fanout(clients: Int) async throws -> (p50: Double, p99: Double, affected: Int, setup: Double, clientRSS: Double, rssNow: Double) {
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
    // The nodes join as a booting cluster's agents do: many at once (64 in flight).
    let tokens = try await plane.createTokens(nodes: nodes.map(\.name), ttl: 600)
    let keys = nodes.map { NodeIdentity(name: $0.name) }
    let requests = try keys.enumerated().map { i, key in JoinRequest(node: key.name, token: tokens[i], csr: try key.certificateSigningRequestPEM()) }
    let identities = try await joinConcurrently(plane, requests, inFlight: 64).enumerated().map { i, certificate in
        (keys[i], try certificate.serializeAsPEM().pemString)
    }
    let server = try ControlServer(plane: plane, nodeListen: ("127.0.0.1", 0), joinListen: ("127.0.0.1", 0))
    let serving = Task { try await server.serve() }
    guard let port = try await server.node.listeningAddress?.ipv4?.port else { throw PlanError("no listening port") }
    // The clients run in a child process: this process's peak RSS is the controller's.
    let planFile = directory + "/clients.json"
    let plan = FanoutPlan(port: port, ca: plane.ca.certificatePEM,
                          clients: identities.map { .init(certificate: $0.1, key: $0.0.signingKey.pemRepresentation) })
    try SecureFile.write(Array(try JSONEncoder().encode(plan)), to: planFile)
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["fanout-clients", planFile]
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    var lines = lines(of: pipe.fileHandleForReading).makeAsyncIterator()
    guard await lines.next() == "ready" else { throw PlanError("the client process did not get ready") }
    let setup = seconds(clock.now - setupStart)
    spec.revoked = [nodes[0].name]
    let start = monotonicNanoseconds()
    let changed = try await plane.update(spec: spec)
    var arrivals: [Double] = [], clientRSS = 0.0
    while arrivals.count < changed.count, let line = await lines.next() {
        let parts = line.split(separator: " ")
        if parts.first == "arrival", parts.count == 2, let at = UInt64(parts[1]) { arrivals.append(Double(at &- start) / 1e9) }
    }
    // Every client connected and watching, every delta delivered: the controller's memory
    // now, beside the peak (which the snapshots waiting for flow-control credit set).
    let rssNow = currentRSS()
    server.beginGracefulShutdown()
    await plane.endStreams()
    while let line = await lines.next() { if line.hasPrefix("rss ") { clientRSS = Double(line.dropFirst(4)) ?? 0 } }
    child.waitUntilExit()
    serving.cancel()
    let sorted = arrivals.sorted()
    guard !sorted.isEmpty else { throw PlanError("no delta arrived") }
    return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)], changed.count, setup, clientRSS, rssNow)
}

/// The lines of a pipe, read on a thread of its own: a blocking read must not hold one of
/// the two cooperative threads the controller under test needs.
func lines(of handle: FileHandle) -> AsyncStream<String> {
    AsyncStream { continuation in
        Thread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 10) {
                    continuation.yield(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            continuation.finish()
        }.start()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

