import Testing
import WeftModel
@testable import WeftPlanner

/// Agents as the controller sees them: each holds the state it was sent and applies the
/// planner's document-free deltas (`Planner.delta(for:since:table:sent:)`), exactly as
/// `ControlPlane.publish` produces them. After every change each must hold its full,
/// freshly materialised document.
struct Clients {
    var states: [String: DesiredNodeState] = [:]
    var sent: [String: Planner.SentSections] = [:]
    var deltas = 0, snapshots = 0, peersSent = 0

    init(_ planner: Planner) { sync(planner) }

    mutating func sync(_ planner: Planner) {
        for node in planner.activeNodes where states[node] == nil { snapshot(node, planner) }
    }

    mutating func snapshot(_ node: String, _ planner: Planner) {
        let state = planner.desiredState(for: node)!
        states[node] = state
        sent[node] = Planner.SentSections(state)
        snapshots += 1
    }

    /// Runs one change on `planner` and delivers what the controller would.
    mutating func change(_ planner: inout Planner, _ body: (inout Planner) throws -> Set<String>) throws {
        let base = planner.baseline
        let changed = try body(&planner)
        let table = planner.peerTableChange(since: base)
        for node in changed.sorted() {
            guard var record = sent[node], let delta = planner.delta(for: node, since: base, table: table, sent: &record) else {
                if planner.desiredState(for: node) != nil { snapshot(node, planner) }
                continue
            }
            sent[node] = record
            states[node] = try states[node]!.applying(delta)
            deltas += 1
            peersSent += delta.upsertPeers.count + delta.removePeers.count
        }
        for node in states.keys where planner.desiredState(for: node) == nil {
            states[node] = nil
            sent[node] = nil
        }
        sync(planner)
    }

    func check(_ planner: Planner, _ label: String) {
        for node in planner.activeNodes {
            #expect(states[node] == planner.desiredState(for: node), "\(label): \(node) differs from its document")
        }
    }
}

@Suite("planner: deltas without documents")
struct DeltaTests {
    @Test("pod changes (10 seeds x 20 steps): every agent's state with the cheap deltas equals its document", arguments: 1...10)
    func podChanges(seed: Int) throws {
        var g = Generator(state: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1)
        var spec = IncrementalTests.spec(&g)
        var planner = try Planner(spec: spec)
        var clients = Clients(planner)
        for step in 0..<20 {
            var next = spec
            for k in 0..<(1 + g.next(3)) { IncrementalTests.mutate(&next, &g, serial: step * 10 + k) }
            guard next.problems().isEmpty else { continue }
            try clients.change(&planner) { try $0.update(to: next) }
            spec = next
            clients.check(planner, "seed \(seed) step \(step)")
        }
        #expect(clients.deltas > 0, "seed \(seed): no delta was exercised")
    }

    @Test("joins, rotation with acknowledgements, revocation, a new node, a moved node, a policy: agents follow with deltas")
    func structuralChanges() throws {
        var spec = smallSpec()
        var planner = try Planner(spec: spec)
        var clients = Clients(planner)
        #expect(clients.states.isEmpty, "nobody joined yet, nobody is active")
        for (node, credential) in smallCredentials.sorted(by: { $0.key < $1.key }) {
            try clients.change(&planner) { try $0.setCredentials(credential, for: node) }
            clients.check(planner, "join \(node)")
        }
        try clients.change(&planner) { $0.startRotation() }
        clients.check(planner, "rotation started")
        for round in 0..<3 {
            for node in planner.activeNodes {
                let facts = planner.rotation.facts(of: planner.desiredState(for: node)!)
                try clients.change(&planner) { $0.acknowledge(node: node, inboundEpoch: facts.inboundEpoch, outboundEpoch: facts.outboundEpoch) }
                clients.check(planner, "round \(round) ack \(node)")
            }
        }
        #expect(planner.rotation.currentEpoch == 2 && !planner.rotation.rotating, "the rotation did not complete")
        try clients.change(&planner) { try $0.setCredentials(NodeCredentials(keyAgreementPublicKey: "key2b", incarnation: "boot-2b"), for: "node2") }
        clients.check(planner, "node2 re-joined")
        spec.nodes.append(NodeSpec(name: "node4", underlay: "192.0.2.4", podCIDR: "10.244.4.0/24"))
        spec.nodes[0].underlay = "192.0.2.11"
        spec.policies[0].port = 8080
        try clients.change(&planner) { try $0.update(to: spec) }
        clients.check(planner, "node added, node1 moved, policy changed")
        try clients.change(&planner) { try $0.setCredentials(NodeCredentials(keyAgreementPublicKey: "key4", incarnation: "boot-4"), for: "node4") }
        clients.check(planner, "node4 joined")
        spec.revoked = ["node3"]
        try clients.change(&planner) { try $0.update(to: spec) }
        clients.check(planner, "node3 revoked")
        #expect(clients.states["node1"]?.quarantined == [3] && clients.states["node3"] == nil)
        #expect(clients.deltas > 10 && clients.snapshots == 4)
    }

    @Test("a revocation in a 200-node cluster sends each node one peer removal, not its peer list")
    func revocationIsSmall() throws {
        let nodes = (0..<200).map { NodeSpec(name: "n\($0)", underlay: "10.0.\($0 / 250).\(1 + $0 % 250)", podCIDR: "10.\(64 + $0 / 256).\($0 % 256).0/24") }
        var spec = ClusterSpec(cluster: ClusterIdentity(name: "big", id: "big"), encryption: EncryptionSettings(enabled: false), nodes: nodes)
        var planner = try Planner(spec: spec)
        var clients = Clients(planner)
        spec.revoked = ["n7"]
        try clients.change(&planner) { try $0.update(to: spec) }
        clients.check(planner, "n7 revoked")
        #expect(clients.deltas == 199 && clients.peersSent == 199)
    }

    @Test("joining re-plans no pod: the topology-only update equals a plan from scratch")
    func joinEqualsScratch() throws {
        var planner = try Planner(spec: smallSpec())
        for (node, credential) in smallCredentials.sorted(by: { $0.key < $1.key }) {
            _ = try planner.setCredentials(credential, for: node)
        }
        let scratch = try Planner(spec: smallSpec(), allocations: planner.allocations, credentials: smallCredentials)
        for node in scratch.activeNodes { #expect(content(planner.desiredState(for: node)) == content(scratch.desiredState(for: node))) }
        #expect(planner.activeNodes == scratch.activeNodes)
    }
}
