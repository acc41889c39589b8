import Testing
import WeftModel
@testable import WeftPlanner

/// A small cluster: three nodes, two pods each; "web" pods accept TCP 80 from "client" pods.
func smallSpec(encryption: Bool = true) -> ClusterSpec {
    let nodes = (1...3).map { NodeSpec(name: "node\($0)", underlay: "192.0.2.\($0)", podCIDR: "10.244.\($0).0/24") }
    let pods = [
        PodSpec(name: "web-1", node: "node1", address: "10.244.1.10", labels: ["app": "web"]),
        PodSpec(name: "db-1", node: "node1", address: "10.244.1.11", labels: ["app": "db"]),
        PodSpec(name: "client-1", node: "node2", address: "10.244.2.10", labels: ["app": "client"]),
        PodSpec(name: "client-2", node: "node2", address: "10.244.2.11", labels: ["app": "client"]),
        PodSpec(name: "other-1", node: "node3", address: "10.244.3.10", labels: ["app": "other"]),
        PodSpec(namespace: "prod", name: "web-2", node: "node3", address: "10.244.3.11", labels: ["app": "web"]),
    ]
    let policies = [PolicySpec(name: "web-from-client", selector: ["app": "web"], from: [PeerSelector(labels: ["app": "client"])],
                               proto: "tcp", port: 80)]
    return ClusterSpec(cluster: ClusterIdentity(name: "test", id: "test-cluster", uplink: "uplink0"),
                       encryption: EncryptionSettings(enabled: encryption), nodes: nodes, pods: pods, policies: policies)
}

let smallCredentials = Dictionary(uniqueKeysWithValues: (1...3).map { ("node\($0)", NodeCredentials(keyAgreementPublicKey: "key\($0)", incarnation: "boot-\($0)")) })

/// The same document without its revision (revisions count history, not content).
func content(_ state: DesiredNodeState?) -> DesiredNodeState? {
    guard var state else { return nil }
    state.revision = 0
    return state
}

@Suite("planner (pure)")
struct PlannerTests {
    @Test("topology: every other node a peer with its VTEP, MAC from its index, MTU with ESP overhead, SA plans")
    func topology() throws {
        let planner = try Planner(spec: smallSpec(), credentials: smallCredentials)
        let state = try #require(planner.desiredState(for: "node1"))
        #expect(state.node.index == 1 && state.node.vtepMAC == "02:57:46:00:00:01" && state.node.vtepAddress == "10.244.1.0")
        #expect(state.node.mtu == 1413 && state.node.uplink == "uplink0" && state.node.incarnation == "boot-1")
        #expect(state.peers.map(\.name) == ["node2", "node3"])
        let peer = state.peers[0]
        #expect(peer.vtepMAC == "02:57:46:00:00:02" && peer.podCIDRs == ["10.244.2.0/24"] && peer.encrypt)
        #expect(peer.keyAgreementPublicKey == "key2" && peer.incarnation == "boot-2")
        // node1 sends to node2 on the SPI node2 chose for sender 1; receives from node2 on its own.
        #expect(peer.outbound == SAPlan(spi: 0x0100_0157, epoch: 1) && peer.inbound == SAPlan(spi: 0x0100_0257, epoch: 1))
        #expect(try state.validate().isEmpty)
        #expect(try DesiredNodeState.decode(try state.encoded()) == state)
    }

    @Test("policy: selected pods admit their sources; an unselected pod on an enforcing node admits anyone; ipcache holds what the rules name")
    func policy() throws {
        let planner = try Planner(spec: smallSpec(), credentials: smallCredentials)
        let web = try #require(planner.identity(of: smallSpec().pods[0]))
        let db = try #require(planner.identity(of: smallSpec().pods[1]))
        let client = try #require(planner.identity(of: smallSpec().pods[2]))
        let node1 = try #require(planner.desiredState(for: "node1"))
        #expect(Set(node1.policy) == [PolicyRule(source: client, destination: web, proto: "tcp", port: 80),
                                      PolicyRule(source: PolicyRule.anySource, destination: db, proto: "any", port: 0), .enforced])
        #expect(node1.ipcache.map(\.cidr) == ["10.244.1.10/32", "10.244.1.11/32", "10.244.2.10/32", "10.244.2.11/32"])
        // node2 hosts no selected pod: no enforcement, its own pods only.
        let node2 = try #require(planner.desiredState(for: "node2"))
        #expect(node2.policy.isEmpty && node2.ipcache.map(\.identity) == [client, client])
        // The prod web pod has another identity (namespace), still selected (policy has no namespace).
        let node3 = try #require(planner.desiredState(for: "node3"))
        #expect(node3.policy.contains { $0.source == client && $0.port == 80 })
        #expect(Set([web, db, client]).count == 3 && web >= Allocations.firstIdentity)
    }

    @Test("a selected source also carries the rules it is the source of, so the stateless filter admits the replies it gets")
    func reverseRules() throws {
        var spec = smallSpec()
        spec.pods.append(PodSpec(name: "admin-1", node: "node3", address: "10.244.3.12", labels: ["app": "admin"]))
        spec.policies.append(PolicySpec(name: "client-from-admin", selector: ["app": "client"], from: [PeerSelector(labels: ["app": "admin"])]))
        let planner = try Planner(spec: spec, credentials: smallCredentials)
        let web = try #require(planner.identity(of: spec.pods[0])), webProd = try #require(planner.identity(of: spec.pods[5]))
        let client = try #require(planner.identity(of: spec.pods[2])), admin = try #require(planner.identity(of: spec.pods[6]))
        let node2 = try #require(planner.desiredState(for: "node2"))
        #expect(Set(node2.policy) == [PolicyRule(source: admin, destination: client, proto: "any", port: 0),
                                      PolicyRule(source: client, destination: web, proto: "tcp", port: 80),
                                      PolicyRule(source: client, destination: webProd, proto: "tcp", port: 80), .enforced])
        #expect(node2.ipcache.map(\.cidr) == ["10.244.1.10/32", "10.244.2.10/32", "10.244.2.11/32", "10.244.3.11/32", "10.244.3.12/32"])
    }

    @Test("IPv4 parsing is strict; garbage is refused, never trapped on")
    func ipv4() {
        #expect(IPv4("192.0.2.1")?.value == 0xC000_0201 && IPv4("0.0.0.0")?.value == 0)
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 ", "1.2.3.4/24", "1.2.3.1000", "...."] {
            #expect(IPv4(bad) == nil, "\(bad)")
        }
        #expect(IPv4Prefix("10.244.1.0/24")?.isCanonical == true && IPv4Prefix("10.244.1.5/24")?.isCanonical == false)
        #expect(IPv4Prefix("10.0.0.0/33") == nil && IPv4Prefix("10.0.0.0") == nil && IPv4Prefix("10.0.0.0/x") == nil)
    }

    @Test("deterministic: the same input twice, and a restart with persisted allocations, give the same documents")
    func deterministic() throws {
        let a = try Planner(spec: smallSpec(), credentials: smallCredentials)
        let b = try Planner(spec: smallSpec(), credentials: smallCredentials)
        for node in a.activeNodes { #expect(a.desiredState(for: node) == b.desiredState(for: node)) }
        var shuffled = smallSpec()
        shuffled.pods.reverse()
        shuffled.nodes.reverse()
        let restarted = try Planner(spec: shuffled, allocations: a.allocations, credentials: smallCredentials)
        for node in a.activeNodes { #expect(content(restarted.desiredState(for: node)) == content(a.desiredState(for: node))) }
    }

    @Test("encryption: a node without credentials is not a peer and has no state; revoked nodes are quarantined everywhere")
    func membership() throws {
        var credentials = smallCredentials
        credentials["node3"] = nil
        var planner = try Planner(spec: smallSpec(), credentials: credentials)
        #expect(planner.desiredState(for: "node3") == nil && planner.desiredState(for: "node1")?.peers.map(\.name) == ["node2"])
        var spec = smallSpec()
        spec.revoked = ["node2"]
        planner = try Planner(spec: spec, credentials: smallCredentials)
        #expect(planner.desiredState(for: "node2") == nil)
        let node1 = try #require(planner.desiredState(for: "node1"))
        #expect(node1.peers.map(\.name) == ["node3"] && node1.quarantined == [2])
    }

    @Test("SPIs: unique per receiver over all senders and 256 consecutive epochs, never below 256")
    func spis() {
        var seen: Set<UInt32> = []
        for sender in [1, 2, 3, 255, 256, 65_535] as [UInt32] {
            for epoch in 1...256 as ClosedRange<UInt32> {
                let spi = Keying.spi(senderIndex: sender, epoch: epoch)
                #expect(spi >= 256 && seen.insert(spi).inserted)
            }
        }
    }

    @Test("a bad spec is refused with every problem; a bad pod change throws and changes nothing")
    func validation() throws {
        var spec = smallSpec()
        spec.nodes[1].podCIDR = "10.244.1.128/25"
        spec.pods[4].address = "10.9.0.1"
        spec.pods.append(PodSpec(name: "web-1", node: "node9", address: "10.244.1.20"))
        let problems = spec.problems().map(\.description)
        #expect(problems.contains("nodes[1].podCIDR: 10.244.1.128/25 overlaps node1's 10.244.1.0/24"))
        #expect(problems.contains("pods[4].address: 10.9.0.1 is outside node node3's pod CIDR 10.244.3.0/24"))
        #expect(problems.contains("pods[6].name: pod default/web-1 appears twice"))
        #expect(problems.contains("pods[6].node: unknown node \"node9\""))
        #expect(throws: PlanError.self) { try Planner(spec: spec) }

        var planner = try Planner(spec: smallSpec(), credentials: smallCredentials)
        let before = planner.activeNodes.map { planner.desiredState(for: $0) }
        #expect(throws: PlanError.self) {
            try planner.apply([.upsert(PodSpec(name: "new", node: "node1", address: "10.244.1.10")),  // web-1's address
                               .upsert(PodSpec(name: "new2", node: "node1", address: "10.244.1.12"))])
        }
        #expect(planner.activeNodes.map { planner.desiredState(for: $0) } == before)
    }
}
