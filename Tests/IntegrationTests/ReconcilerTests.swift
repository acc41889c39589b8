import Foundation
import Netlink
import Testing
import WeftAgent
import WeftModel
import WeftTestSupport

@Suite("reconciler on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct ReconcilerTests {
    /// A node namespace with an uplink carrying the underlay address.
    func node() throws -> TestNamespace {
        let ns = try TestNamespace()
        try ns.ip(["link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0-peer"])
        try ns.ip(["addr", "add", "192.0.2.1/24", "dev", "uplink0"])
        try ns.ip(["link", "set", "uplink0", "up"])
        return ns
    }

    /// Weft's objects as iproute2 sees them, one string each.
    func weftObjects(_ ns: TestNamespace) throws -> [String] {
        let neighbours = try ns.ipJSON(["neigh", "show", "dev", "weft0", "proto", "87"]).map { "neigh \($0["dst"]!) \($0["lladdr"]!)" }
        let fdb = try ns.bridgeJSON(["fdb", "show", "dev", "weft0"]).filter { $0["dst"] != nil }.map { "fdb \($0["mac"]!) \($0["dst"]!)" }
        let nexthops = try ns.ipJSON(["nexthop", "show", "proto", "87"]).map { "nexthop \($0["id"]!) \($0["gateway"]!)" }
        let routes = try ns.ipJSON(["route", "show", "proto", "87"]).map { "route \($0["dst"]!) \($0["nhid"]!)" }
        return (neighbours + fdb + nexthops + routes).sorted()
    }

    @Test("apply from nothing, then again: the second apply writes nothing")
    func applyTwice() throws {
        let ns = try node()
        let reconciler = Reconciler(socket: try ns.socket())
        let first = try reconciler.apply(sampleNodeState(peers: 3))
        #expect(first.succeeded && first.device != nil && first.writes == 1 + 1 + 3 * 4)

        let link = try #require(try ns.ipJSON(["-d", "link", "show", "dev", "weft0"]).first)
        let data = (link["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
        #expect(data?["id"] as? Int == 42 && data?["port"] as? Int == 4789 && data?["learning"] as? Bool == false)
        #expect(data?["local"] as? String == "192.0.2.1" && data?["link"] as? String == "uplink0")
        #expect(link["mtu"] as? Int == 1450 && link["address"] as? String == "02:57:46:00:00:01")
        #expect((link["flags"] as? [String])?.contains("UP") == true)
        let objects = try weftObjects(ns)
        #expect(objects.count == 12)
        #expect(objects.contains("route 10.244.2.0/24 \(0x5700_0003)"))
        #expect(objects.contains("fdb 02:57:46:00:00:03 192.0.2.3"))

        let second = try reconciler.apply(sampleNodeState(peers: 3))
        #expect(second.writes == 0 && second.changes.isEmpty && second.device == nil)
    }

    @Test("node.device naming an existing non-VXLAN device: refused, the device untouched (not deleted, not changed)")
    func foreignDevice() throws {
        let ns = try node()
        try ns.ip(["link", "add", "weft0", "type", "bridge"])
        try ns.ip(["link", "set", "weft0", "mtu", "1234"])
        let before = try #require(try ns.ipJSON(["-d", "link", "show", "dev", "weft0"]).first)
        let reconciler = Reconciler(socket: try ns.socket())
        #expect(throws: Reconciler.Error.self) { try reconciler.plan(sampleNodeState(peers: 2)) }
        do { _ = try reconciler.apply(sampleNodeState(peers: 2)); Issue.record("apply went ahead over a bridge") } catch {
            #expect("\(error)".contains("not Weft's VXLAN device"), "\(error)")
        }
        let after = try #require(try ns.ipJSON(["-d", "link", "show", "dev", "weft0"]).first)
        #expect(after["ifindex"] as? Int == before["ifindex"] as? Int && after["mtu"] as? Int == 1234)
        #expect(((after["linkinfo"] as? [String: Any])?["info_kind"] as? String) == "bridge")
        // The uplink as node.device is refused by validation, before any kernel call.
        var state = sampleNodeState(peers: 2)
        state.node.device = state.node.uplink
        #expect(state.validate().contains { $0.contains("is the uplink") })
    }

    @Test("a removed peer takes exactly its objects; the operator's objects survive")
    func garbageCollection() throws {
        let ns = try node()
        let reconciler = Reconciler(socket: try ns.socket())
        _ = try reconciler.apply(sampleNodeState(peers: 3))
        // The operator's own objects, some on Weft's device.
        try ns.ip(["route", "add", "203.0.113.0/24", "dev", "weft0", "proto", "static"])
        try ns.ip(["neigh", "add", "10.9.9.9", "lladdr", "02:00:00:00:09:09", "dev", "weft0", "nud", "permanent"])
        try ns.ip(["nexthop", "add", "id", "5", "via", "10.9.9.9", "dev", "weft0", "onlink"])
        try ns.ip(["xfrm", "policy", "add", "src", "198.51.100.1/32", "dst", "198.51.100.2/32", "dir", "out"])
        let before = try weftObjects(ns)

        var state = sampleNodeState(peers: 3, revision: 2)
        state.peers.remove(at: 1)  // node-3: 10.244.2.0
        let report = try reconciler.apply(state)
        #expect(report.succeeded && report.writes == 4)
        let removed = Set(before).subtracting(try weftObjects(ns))
        #expect(removed == ["neigh 10.244.2.0 02:57:46:00:00:03", "fdb 02:57:46:00:00:03 192.0.2.3",
                            "nexthop \(0x5700_0003) 10.244.2.0", "route 10.244.2.0/24 \(0x5700_0003)"])
        #expect(try ns.ipJSON(["route", "show", "203.0.113.0/24"]).count == 1)
        #expect(try ns.ipJSON(["neigh", "show", "10.9.9.9", "dev", "weft0"]).count == 1)
        #expect(try ns.ipJSON(["nexthop", "show", "id", "5"]).count == 1)
        #expect(try ns.ip(["xfrm", "policy", "list"]).contains("198.51.100.1/32"))
    }

    @Test("an object deleted behind Weft's back is put back, and only it")
    func repair() throws {
        let ns = try node()
        let reconciler = Reconciler(socket: try ns.socket())
        _ = try reconciler.apply(sampleNodeState(peers: 2))
        try ns.ip(["route", "del", "10.244.1.0/24", "proto", "87"])
        let report = try reconciler.apply(sampleNodeState(peers: 2))
        #expect(report.changes == [.addRoute(IPPrefix("10.244.1.0/24")!, Ownership.nexthopID(peerIndex: 2))])
        #expect(report.writes == 1)
    }

    @Test("a refused request is reported with the kernel's reason; the rest is applied")
    func partialFailure() throws {
        let ns = try node()
        let reconciler = Reconciler(socket: try ns.socket())
        _ = try reconciler.apply(sampleNodeState(peers: 1))
        // The operator already routes node-3's pod CIDR: Weft's exclusive add must fail.
        try ns.ip(["route", "add", "10.244.2.0/24", "dev", "weft0", "proto", "static"])
        let report = try reconciler.apply(sampleNodeState(peers: 3))
        #expect(report.failures.map(\.change.description) == ["add route 10.244.2.0/24 nhid 0x57000003"])
        #expect(report.failures.first?.error.errno == .exists)
        #expect(try weftObjects(ns).contains("route 10.244.3.0/24 \(0x5700_0004)"))
    }

    @Test("700 peers (2,801 changes, sent in slices): all in the kernel; a failure in a later slice names its own change")
    func manySlices() throws {
        let ns = try node()
        let reconciler = Reconciler(socket: try ns.socket())
        var state = sampleNodeState(peers: 0)
        state.peers = (0..<700).map { i in
            let (hi, lo) = (100 + i / 256, i % 256)
            return Peer(name: "peer-\(i)", index: UInt32(i + 2), underlay: "10.200.\(i / 250).\(1 + i % 250)",
                        vtepMAC: String(format: "02:57:46:00:%02x:%02x", i / 256 + 1, i % 256), vtepAddress: "10.\(hi).\(lo).0",
                        podCIDRs: ["10.\(hi).\(lo).0/24"])
        }
        // Peer 650's pod CIDR is routed by the operator already: its route (change 2,751) fails.
        try ns.ip(["route", "add", "10.102.138.0/24", "dev", "uplink0", "proto", "static"])
        let report = try reconciler.apply(state)
        #expect(report.changes.count == 1 + 4 * 700 && report.changes.count > Reconciler.requestSlice)
        #expect(report.failures.map(\.change.description) == ["add route 10.102.138.0/24 nhid 0x\(String(Ownership.nexthopID(peerIndex: 652), radix: 16))"])
        let objects = try weftObjects(ns)
        #expect(objects.count == 4 * 700 - 1)
        #expect(objects.contains("route 10.102.187.0/24 \(Ownership.nexthopID(peerIndex: 701))"))
        #expect(try reconciler.apply(state).changes.count == 1, "only the failed route is left to do")
    }

    @Test("a VNI change recreates the device and says why; an MTU change does not")
    func deviceChanges() throws {
        let ns = try node()
        let reconciler = Reconciler(socket: try ns.socket())
        _ = try reconciler.apply(sampleNodeState(peers: 1))
        let index = try ns.index(of: "weft0")
        var state = sampleNodeState(peers: 1)
        state.node.mtu = 1400
        let mtu = try reconciler.apply(state)
        guard case .update(_, let reason)? = mtu.device else { Issue.record("\(String(describing: mtu.device))"); return }
        #expect(reason == "mtu 1450 → 1400")
        #expect(mtu.writes == 1, "\(mtu.changes)")
        #expect(try ns.index(of: "weft0") == index)

        state.cluster.vni = 43
        let vni = try reconciler.apply(state)
        guard case .recreate(_, let why)? = vni.device else { Issue.record("\(String(describing: vni.device))"); return }
        #expect(why == "VNI 42 → 43")
        #expect(try ns.index(of: "weft0") != index)
        #expect(try weftObjects(ns).count == 4)  // re-added on the new device
    }

    @Test("a missing uplink is a clear error and changes nothing")
    func missingUplink() throws {
        let ns = try TestNamespace()
        let error = #expect(throws: Reconciler.Error.self) { try Reconciler(socket: try ns.socket()).apply(sampleNodeState(peers: 1)) }
        #expect(error?.description == "uplink uplink0 does not exist (node.uplink)")
        #expect(try ns.ipJSON(["link", "show"]).count == 1)
    }
}

@Suite("weftctl diff", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct WeftCtlDiffTests {
    @Test("a dry run lists what apply would do, writes nothing, and is empty after apply")
    func dryRun() throws {
        let ns = try ReconcilerTests().node()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("weft-desired-\(UInt32.random(in: 0...UInt32.max)).json")
        try sampleNodeState(peers: 2).encoded().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let before = try weftctl(["-n", ns.name, "diff", "--desired", file.path])
        #expect(before.hasPrefix("create vxlan device weft0 vni 42 local 192.0.2.1 port 4789\nadd address 10.244.0.0/32\n"))
        #expect(before.hasSuffix("revision 1: 10 changes (vxlan device +1 ~0 -0, address +1 ~0 -0, neighbour +2 ~0 -0, fdb +2 ~0 -0, nexthop +2 ~0 -0, route +2 ~0 -0)"))
        #expect(try ns.ipJSON(["link", "show"]).allSatisfy { $0["ifname"] as? String != "weft0" })

        _ = try Reconciler(socket: try ns.socket()).apply(sampleNodeState(peers: 2))
        #expect(try weftctl(["-n", ns.name, "diff", "--desired", file.path]).hasSuffix("revision 1: 0 changes"))
    }
}
