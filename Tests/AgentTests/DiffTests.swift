import Foundation
import Netlink
import Testing
import WeftAgent
import WeftModel
import WeftTestSupport

@Suite("reconciler diff (pure)")
struct DiffTests {
    @Test("from nothing: every object added, in dependency order")
    func fromEmpty() throws {
        let desired = try DesiredDatapath(sampleNodeState(peers: 2)).objects
        let changes = diff(desired: desired, observed: OverlayObjects())
        #expect(changes.map(\.change.kind.rawValue) == ["address", "neighbour", "neighbour", "fdb", "fdb", "nexthop", "nexthop", "route", "route"])
        #expect(changes.first == .addAddress(IPPrefix("10.244.0.0/32")!))
        #expect(changes.last == .addRoute(IPPrefix("10.244.2.0/24")!, Ownership.nexthopID(peerIndex: 3)))
    }

    @Test("the same state twice: no change")
    func idempotent() throws {
        let desired = try DesiredDatapath(sampleNodeState(peers: 50)).objects
        #expect(diff(desired: desired, observed: desired).isEmpty)
    }

    @Test("a peer removed: exactly its objects, routes first")
    func peerRemoved() throws {
        let before = try DesiredDatapath(sampleNodeState(peers: 3)).objects
        var state = sampleNodeState(peers: 3)
        state.peers.remove(at: 1)
        let after = try DesiredDatapath(state).objects
        let changes = diff(desired: after, observed: before)
        #expect(changes.map(\.description) == [
            "delete route 10.244.2.0/24 nhid 0x57000003",
            "delete nexthop id 0x57000003 via 10.244.2.0",
            "delete fdb 02:57:46:00:00:03 dst 192.0.2.3",
            "delete neighbour 10.244.2.0 lladdr 02:57:46:00:00:03",
        ])
    }

    @Test("a peer's underlay and MAC change: replace the neighbour, add then remove the FDB remote")
    func peerMoved() throws {
        let before = try DesiredDatapath(sampleNodeState(peers: 1)).objects
        var state = sampleNodeState(peers: 1)
        state.peers[0].underlay = "198.51.100.2"
        state.peers[0].vtepMAC = "02:57:46:00:01:02"
        let changes = diff(desired: try DesiredDatapath(state).objects, observed: before)
        #expect(changes.map(\.description) == [
            "replace neighbour 10.244.1.0 lladdr 02:57:46:00:01:02",
            "add fdb 02:57:46:00:01:02 dst 198.51.100.2",
            "delete fdb 02:57:46:00:00:02 dst 192.0.2.2",
        ])
    }

    @Test("device: immutable fields recreate, the rest update in place")
    func device() throws {
        let desired = try DesiredDatapath(sampleNodeState(peers: 0)).device
        #expect(diff(desired: desired, observed: nil) == .create(desired))
        var live = Link(name: "weft0", kind: .vxlan(VXLAN(vni: 42, local: IPAddress("192.0.2.1"), port: 4789, learning: false)))
        live.address = MACAddress("02:57:46:00:00:01")
        live.mtu = 1450
        live.flags = .up
        #expect(diff(desired: desired, observed: live) == nil)
        live.mtu = 1500
        #expect(diff(desired: desired, observed: live) == .update(desired, reason: "mtu 1500 → 1450"))
        live.kind = .vxlan(VXLAN(vni: 7, local: IPAddress("192.0.2.1"), port: 4789, learning: false))
        #expect(diff(desired: desired, observed: live) == .recreate(desired, reason: "VNI 7 → 42"))
    }
}

@Suite("desired state documents")
struct DesiredStateTests {
    func json(_ state: DesiredNodeState) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: try state.encoded()) as! [String: Any]
    }

    func decode(_ object: [String: Any]) throws -> DesiredNodeState {
        try DesiredNodeState.decode(try JSONSerialization.data(withJSONObject: object))
    }

    @Test("round trip, and unknown fields of a newer minor version are ignored")
    func roundTrip() throws {
        let state = sampleNodeState(peers: 2)
        var object = try json(state)
        object["version"] = "1.7"
        object["somethingNew"] = ["x": 1]
        let decoded = try decode(object)
        #expect(decoded.peers == state.peers && decoded.revision == 1)
    }

    @Test("another major version is refused, naming both versions")
    func majorVersion() throws {
        var object = try json(sampleNodeState(peers: 0))
        object["version"] = "2.0"
        let error = #expect(throws: DesiredStateError.self) { try decode(object) }
        #expect(error?.description == "desired state: version 2.0 is not supported (this agent reads 1.x)")
    }

    @Test("a missing field is named by its path")
    func missingField() throws {
        var object = try json(sampleNodeState(peers: 1))
        var peers = object["peers"] as! [[String: Any]]
        peers[0].removeValue(forKey: "vtepMAC")
        object["peers"] = peers
        let error = #expect(throws: DesiredStateError.self) { try decode(object) }
        #expect(error?.description == "desired state: missing field .peers[0].vtepMAC")
    }

    @Test("structural problems are all listed")
    func invalid() throws {
        var state = sampleNodeState(peers: 2)
        state.peers[1].index = state.peers[0].index
        state.cluster.vni = 0
        let error = #expect(throws: DesiredStateError.self) { try decode(try json(state)) }
        #expect(error?.description == "desired state revision 1: cluster.vni 0 is not in 1-16777215; peers[1].index 2 appears twice (or is this node's)")
    }

    @Test("a bad address is named by its field")
    func badAddress() throws {
        var state = sampleNodeState(peers: 1)
        state.peers[0].podCIDRs = ["10.244.1.0/33"]
        let error = #expect(throws: DesiredStateError.self) { try DesiredDatapath(state) }
        #expect(error?.description == "peers[0].podCIDRs[0] \"10.244.1.0/33\" is not a valid IPPrefix")
    }
}

@Suite("the documented example")
struct ExampleDocumentTests {
    @Test("agent/desired-state.example.json decodes and plans 2 peers")
    func example() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("agent/desired-state.example.json")
        let state = try DesiredNodeState.decode(try Data(contentsOf: url))
        #expect(state.revision == 7 && state.peers.map(\.name) == ["node-b", "node-c"])
        let objects = try DesiredDatapath(state).objects
        #expect(objects.routes.count == 2 && objects.neighbours.count == 2 && objects.count == 9)
    }
}

@Suite("trust map contents (layouts of bpf/weft_maps.h)")
struct TrustMapTests {
    @Test("peers, VTEP MACs, pod CIDRs, ipcache, policy and quarantine encode byte for byte")
    func layouts() throws {
        var state = sampleNodeState(peers: 1)
        state.cluster.encryption = true
        state.peers[0].encrypt = true
        state.peers[0].outbound = SAPlan(spi: 1, epoch: 1)
        state.peers[0].inbound = SAPlan(spi: 2, epoch: 1)
        state.ipcache = [IPCacheEntry(cidr: "10.244.1.10/32", identity: 200), IPCacheEntry(cidr: "192.0.2.1/32", identity: 7)]
        state.policy = [PolicyRule(source: 200, destination: 100, proto: "tcp", port: 80)]
        state.quarantined = [2]
        let maps = try TrustMapContents(state).maps
        // struct weft_config { be16 port; u16 pad; u32 mark_tag; u32 mark_mask; u32 flags }
        #expect(maps["weft_config"] == [[0, 0, 0, 0]: [0x12, 0xb5, 0, 0, 0, 0, 0, 0x57, 0, 0, 0, 0xff, 3, 0, 0, 0]])
        // key: be32 underlay; value { u32 node_index; u32 flags = MUST_ENCRYPT | QUARANTINED }
        #expect(maps["weft_peers"] == [[192, 0, 2, 2]: [2, 0, 0, 0, 3, 0, 0, 0]])
        #expect(maps["weft_vtep_macs"] == [[0x02, 0x57, 0x46, 0, 0, 0x02, 0, 0]: [2, 0, 0, 0]])
        // struct weft_lpm_v4 { u32 prefixlen; be32 addr }
        #expect(maps["weft_pod_cidrs"] == [[24, 0, 0, 0, 10, 244, 1, 0]: [2, 0, 0, 0]])
        // the node's own addresses (underlay 192.0.2.1, VTEP 10.244.0.0) are WEFT_IDENTITY_HOST
        #expect(maps["weft_ipcache"] == [[32, 0, 0, 0, 10, 244, 1, 10]: [200, 0, 0, 0], [32, 0, 0, 0, 192, 0, 2, 1]: [0xfe, 0xff, 0xff, 0xff],
                                         [32, 0, 0, 0, 10, 244, 0, 0]: [0xfe, 0xff, 0xff, 0xff]])
        // struct weft_policy_key { u32 prefixlen = 96 (one port); u32 src; u32 dst; u8 proto; u8 pad; be16 dport }
        #expect(maps["weft_policy"] == [[96, 0, 0, 0, 200, 0, 0, 0, 100, 0, 0, 0, 6, 0, 0, 80]: [1]])
        #expect(maps["weft_quarantine"] == [[2, 0, 0, 0]: [1]])
    }

    @Test("egress rules fill weft_egress (ANY as destination) and set ENFORCE_EGRESS with ALLOW_REPLIES; ingress stays off")
    func egressLayout() throws {
        var state = sampleNodeState(peers: 1)
        state.egressPolicy = [PolicyRule(source: 100, destination: PolicyRule.anySource, proto: "udp", port: 53),
                              PolicyRule(source: 100, destination: 300, proto: "any", port: 0)]
        let maps = try TrustMapContents(state).maps
        #expect(maps["weft_config"]?[[0, 0, 0, 0]]?.suffix(4) == [6, 0, 0, 0])
        // prefixlen 96: udp/53 exactly; 64: the two identities, any protocol
        #expect(maps["weft_egress"] == [[96, 0, 0, 0, 100, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 17, 0, 0, 53]: [1],
                                        [64, 0, 0, 0, 100, 0, 0, 0, 44, 1, 0, 0, 0, 0, 0, 0]: [1]])
        #expect(maps["weft_policy"] == [:])
    }

    @Test("ipBlock prefixes fill weft_cidrs (struct weft_lpm_v4 → CIDR identity)")
    func cidrLayout() throws {
        var state = sampleNodeState(peers: 1)
        state.cidrs = [IPCacheEntry(cidr: "10.0.0.0/8", identity: 0x0100_0000), IPCacheEntry(cidr: "203.0.113.0/24", identity: 0x0100_0001)]
        let maps = try TrustMapContents(state).maps
        #expect(maps["weft_cidrs"] == [[8, 0, 0, 0, 10, 0, 0, 0]: [0, 0, 0, 1], [24, 0, 0, 0, 203, 0, 113, 0]: [1, 0, 0, 1]])
        state.cidrs = [IPCacheEntry(cidr: "2001:db8::/32", identity: 0x0100_0000)]
        let error = #expect(throws: DesiredStateError.self) { try TrustMapContents(state) }
        #expect(error?.description == "cidrs[0].cidr \"2001:db8::/32\" is not an IPv4 prefix")
    }

    @Test("no policy: enforcement off; no quarantine: empty map")
    func defaults() throws {
        let maps = try TrustMapContents(sampleNodeState(peers: 2)).maps
        #expect(maps["weft_config"]?.values.first?.suffix(4) == [0, 0, 0, 0])
        #expect(maps["weft_quarantine"]?.isEmpty == true && maps["weft_peers"]?.count == 2)
    }
}
