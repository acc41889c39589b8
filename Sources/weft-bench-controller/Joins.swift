import Foundation
import WeftController
import WeftModel
import WeftPKI
import WeftPlanner
import X509

/// Joins at scale: `count` nodes, each with a join token made beforehand (the operator's
/// step, timed apart), join the controller with `concurrency` joins in flight, as a
/// cluster's agents do when it boots. Each join checks the CSR, spends the token, issues
/// and records the certificate (audit entry, state file) and re-plans the topology.
/// The agents' own work (key generation, CSR signing) is done before the clock starts.
func joins(count: Int, concurrency: Int) async throws -> (tokens: Double, joins: Double) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-joins-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let nodes = (0..<count).map { i in
        NodeSpec(name: String(format: "node-%05d", i), underlay: "10.0.\(i / 250).\(1 + i % 250)", podCIDR: "10.\(64 + i / 256).\(i % 256).0/24")
    }
    let spec = ClusterSpec(cluster: ClusterIdentity(name: "joins", id: "joins"), encryption: EncryptionSettings(enabled: true, rotationSeconds: 0),
                           nodes: nodes)
    let plane = try ControlPlane(stateDirectory: directory, spec: spec)
    defer { plane.close() }
    let clock = ContinuousClock()
    var tokens: [String] = []
    let tokenTime = try await clock.measure {
        for node in nodes { tokens.append(try await plane.createToken(node: node.name, ttl: 600)) }
    }
    let requests = try nodes.enumerated().map { i, node in
        JoinRequest(node: node.name, token: tokens[i], csr: try NodeIdentity(name: node.name).certificateSigningRequestPEM())
    }
    let joinTime = try await clock.measure { _ = try await joinConcurrently(plane, requests, inFlight: concurrency) }
    let joined = await plane.status().nodes.filter(\.joined).count
    guard joined == count else { throw PlanError("\(joined) of \(count) nodes joined") }
    return (seconds(tokenTime), seconds(joinTime))
}

struct JoinRequest: Sendable {
    var node: String, token: String, csr: String
}

/// Joins every request with `inFlight` joins at a time, as a booting cluster's agents do;
/// returns the certificates in the requests' order.
func joinConcurrently(_ plane: ControlPlane, _ requests: [JoinRequest], inFlight: Int) async throws -> [Certificate] {
    try await withThrowingTaskGroup(of: (Int, Certificate).self) { group in
        var certificates: [Certificate?] = Array(repeating: nil, count: requests.count)
        for (i, request) in requests.enumerated() {
            if i >= inFlight, let (done, certificate) = try await group.next() { certificates[done] = certificate }
            group.addTask { (i, try await plane.join(node: request.node, token: request.token, csrPEM: request.csr, incarnation: "1")) }
        }
        for try await (done, certificate) in group { certificates[done] = certificate }
        return certificates.map { $0! }
    }
}
