import Testing
import WeftModel
@testable import WeftPlanner

/// A small deterministic generator (xorshift), so property tests are repeatable.
struct Generator {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Int(state % UInt64(bound))
    }
}

@Suite("planner: incremental = from scratch (property tests)")
struct IncrementalTests {
    static let labels = ["web", "db", "client", "cache", "batch"]

    /// A 6-node cluster with random pods and policies between random label pairs (ingress, and one egress).
    static func spec(_ g: inout Generator) -> ClusterSpec {
        let nodes = (1...6).map { NodeSpec(name: "node\($0)", underlay: "192.0.2.\($0)", podCIDR: "10.244.\($0).0/24") }
        var pods: [PodSpec] = []
        for i in 0..<30 {
            let node = 1 + g.next(6)
            pods.append(PodSpec(namespace: g.next(4) == 0 ? "prod" : "default", name: "pod-\(i)", node: "node\(node)",
                                address: "10.244.\(node).\(10 + i)", labels: ["app": labels[g.next(labels.count)]], ports: httpPort(&g)))
        }
        let policies = (0..<3).map { p in
            PolicySpec(name: "p\(p)", selector: ["app": labels[g.next(labels.count)]],
                       from: [PeerSelector(labels: ["app": labels[g.next(labels.count)]])], proto: ["tcp", "udp", "any"][p], port: p < 2 ? 80 : 0)
        }
        // One egress policy too, so egress rules and their destinations' ipcache entries
        // are kept current by the same pod changes.
        let egress = NetworkPolicy(metadata: ObjectReference(name: "egress"), spec: NetworkPolicySpec(
            podSelector: LabelSelector(matchLabels: ["app": labels[g.next(labels.count)]]),
            egress: [NetworkPolicyEgressRule(to: [NetworkPolicyPeer(podSelector: LabelSelector(matchLabels: ["app": labels[g.next(labels.count)]]))],
                                             ports: [NetworkPolicyPort(.tcp, .number(5432))])]))
        // Named ports: what `http` resolves to follows the pods of each identity, which
        // disagree at random (8080 or 9090, or none).
        let namedIn = NetworkPolicy(metadata: ObjectReference(name: "named-in"), spec: NetworkPolicySpec(
            podSelector: LabelSelector(matchLabels: ["app": labels[g.next(labels.count)]]),
            ingress: [NetworkPolicyIngressRule(from: [NetworkPolicyPeer(podSelector: LabelSelector(matchLabels: ["app": labels[g.next(labels.count)]]))],
                                               ports: [NetworkPolicyPort(.tcp, .name("http"))])]))
        let namedOut = NetworkPolicy(metadata: ObjectReference(name: "named-out"), spec: NetworkPolicySpec(
            podSelector: LabelSelector(matchLabels: ["app": labels[g.next(labels.count)]]),
            egress: [NetworkPolicyEgressRule(ports: [NetworkPolicyPort(.tcp, .name("http"))])]))
        return ClusterSpec(cluster: ClusterIdentity(name: "prop", id: "prop"), encryption: EncryptionSettings(enabled: false),
                           nodes: nodes, pods: pods, policies: policies, networkPolicies: [egress, namedIn, namedOut])
    }

    static func httpPort(_ g: inout Generator) -> [ContainerPort] {
        let pick = g.next(3)
        return pick == 2 ? [] : [ContainerPort(name: "http", containerPort: [8080, 9090][pick])]
    }

    /// One random pod change: add, delete, relabel, new ports, or move to another node.
    static func mutate(_ spec: inout ClusterSpec, _ g: inout Generator, serial: Int) {
        switch g.next(5) {
        case 0:
            let node = 1 + g.next(6)
            // a quarter of them scheduled without an address yet
            let address = g.next(4) == 0 ? "" : "10.244.\(node).\(100 + serial % 150)"
            spec.pods.append(PodSpec(name: "new-\(serial)", node: "node\(node)", address: address,
                                     labels: ["app": labels[g.next(labels.count)]], ports: httpPort(&g)))
        case 1 where !spec.pods.isEmpty:
            spec.pods.remove(at: g.next(spec.pods.count))
        case 2 where !spec.pods.isEmpty:
            spec.pods[g.next(spec.pods.count)].labels["app"] = labels[g.next(labels.count)]
        case 3 where !spec.pods.isEmpty:
            spec.pods[g.next(spec.pods.count)].ports = httpPort(&g)
        default:
            guard !spec.pods.isEmpty else { return }
            if let i = spec.pods.firstIndex(where: { $0.address.isEmpty }), g.next(2) == 0 {  // it started: its address
                spec.pods[i].address = "10.244.\(spec.pods[i].node.dropFirst(4)).\(100 + serial % 150)"
                return
            }
            let i = g.next(spec.pods.count), node = 1 + g.next(6)
            spec.pods[i].node = "node\(node)"
            spec.pods[i].address = "10.244.\(node).\(100 + serial % 150)"
        }
    }

    @Test("200 random pod changes on 10 seeds: changed nodes are exactly those whose state differs; deltas rebuild the new state",
          arguments: 1...10)
    func incrementalEqualsScratch(seed: Int) throws {
        var g = Generator(state: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1)
        var spec = Self.spec(&g)
        var planner = try Planner(spec: spec)
        var applied = 0, reported = 0
        for step in 0..<20 {
            let before = Dictionary(uniqueKeysWithValues: planner.activeNodes.map { ($0, planner.desiredState(for: $0)!) })
            var next = spec
            for k in 0..<(1 + g.next(3)) { Self.mutate(&next, &g, serial: step * 10 + k) }
            guard next.problems().isEmpty else { continue }  // a random move may collide; skip that step
            let changed = try planner.update(to: next)
            spec = next
            applied += 1
            reported += changed.count
            let scratch = try Planner(spec: spec, allocations: planner.allocations)
            for node in planner.activeNodes {
                let now = try #require(planner.desiredState(for: node))
                #expect(content(now) == content(scratch.desiredState(for: node)), "seed \(seed) step \(step) \(node)")
                let differs = content(now) != content(before[node])
                #expect(changed.contains(node) == differs, "seed \(seed) step \(step) \(node): reported \(changed.contains(node)), differs \(differs)")
                #expect(planner.digests[node] ?? NodeDigest() == planner.recomputedDigest(node), "seed \(seed) step \(step) \(node): digest drifted")
                let delta = DesiredStateDelta(from: before[node]!, to: now)
                #expect(try before[node]!.applying(delta) == now)
                #expect(delta.isEmpty == !differs || now.revision != before[node]!.revision)
            }
        }
        // The test means something only if most steps applied and some changed nodes.
        #expect(applied >= 10 && reported > 0, "seed \(seed): \(applied) steps applied, \(reported) node changes")
    }

    @Test("a non-pod change (a policy) rebuilds and reports the nodes whose state changed")
    func structural() throws {
        var planner = try Planner(spec: smallSpec(), credentials: smallCredentials)
        var spec = smallSpec()
        spec.policies[0].port = 443
        let changed = try planner.update(to: spec)
        #expect(changed == ["node1", "node3"])
        #expect(planner.desiredState(for: "node1")?.policy.contains { $0.port == 443 } == true)
        spec.revoked = ["node3"]
        #expect(try planner.update(to: spec) == ["node1", "node2"])
    }
}

@Suite("rotation (pure)")
struct RotationTests {
    /// Acknowledges the current documents of `nodes`, as the agents would after applying.
    static func ack(_ planner: inout Planner, _ nodes: [String]) {
        for node in nodes {
            let facts = planner.rotation.facts(of: planner.desiredState(for: node)!)
            _ = planner.acknowledge(node: node, inboundEpoch: facts.inboundEpoch, outboundEpoch: facts.outboundEpoch)
        }
    }

    @Test("make-before-break: inbound next everywhere, outbound switches per pair only when the receiver acknowledged, old removed last")
    func rotation() throws {
        var planner = try Planner(spec: smallSpec(), credentials: smallCredentials)
        let nodes = planner.activeNodes
        Self.ack(&planner, nodes)
        #expect(planner.rotation.currentEpoch == 1 && !planner.rotation.rotating)
        #expect(planner.startRotation() == Set(nodes))
        var n1 = planner.desiredState(for: "node1")!.peers[0]  // node1's view of node2
        #expect(n1.inboundNext?.epoch == 2 && n1.outboundNext == SAPlan(spi: Keying.spi(senderIndex: 1, epoch: 2), epoch: 2, ready: false))
        #expect(n1.activeOutbound?.epoch == 1)
        // node2 acknowledges its inbound SAs: node1 may switch towards node2, not towards node3.
        Self.ack(&planner, ["node2"])
        let node1 = planner.desiredState(for: "node1")!
        #expect(node1.peers[0].activeOutbound?.epoch == 2 && node1.peers[1].activeOutbound?.epoch == 1)
        #expect(node1.peers.allSatisfy { $0.activeInbound.count == 2 }, "old inbound SAs removed too early")
        // Everyone acknowledges inbound, then everyone has switched: old inbound SAs go.
        Self.ack(&planner, ["node1", "node3"])
        Self.ack(&planner, nodes)
        #expect(planner.rotation.currentEpoch == 2 && !planner.rotation.rotating)
        n1 = planner.desiredState(for: "node1")!.peers[0]
        #expect(n1.outbound?.epoch == 2 && n1.outboundNext == nil && n1.inbound?.epoch == 2 && n1.inboundNext == nil)
        #expect(planner.startRotation() == Set(nodes) && planner.rotation.targetEpoch == 3)
    }

    @Test("acknowledgements never move a rotation backwards; no acknowledgement, no switch")
    func monotonic() throws {
        var planner = try Planner(spec: smallSpec(), credentials: smallCredentials)
        _ = planner.startRotation()
        _ = planner.acknowledge(node: "node2", inboundEpoch: 2, outboundEpoch: nil)
        #expect(planner.acknowledge(node: "node2", inboundEpoch: 1, outboundEpoch: nil).isEmpty)
        #expect(planner.rotation.inboundReady["node2"] == 2)
        #expect(planner.desiredState(for: "node3")!.peers.first { $0.name == "node1" }!.activeOutbound?.epoch == 1)
    }
}
