import Foundation
import Netlink
import Testing

@Suite("links on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct LinkTests {
    @Test("add a VXLAN device; iproute2 sees every field")
    func addVXLAN() throws {
        let ns = try TestNamespace()
        let socket = try ns.socket()
        var vxlan = VXLAN(vni: 42, local: IPAddress("192.0.2.1"), port: 4789, learning: false)
        vxlan.ttl = 64
        var link = Link(name: "weft0", kind: .vxlan(vxlan))
        link.address = MACAddress("02:57:46:00:00:01")
        link.mtu = 1400
        try socket.add(link)

        let seen = try #require(try ns.ipJSON(["-d", "link", "show", "dev", "weft0"]).first)
        #expect(seen["address"] as? String == "02:57:46:00:00:01")
        #expect(seen["mtu"] as? Int == 1400)
        let info = try #require(seen["linkinfo"] as? [String: Any])
        #expect(info["info_kind"] as? String == "vxlan")
        let data = try #require(info["info_data"] as? [String: Any])
        #expect(data["id"] as? Int == 42)
        #expect(data["local"] as? String == "192.0.2.1")
        #expect(data["port"] as? Int == 4789)
        #expect(data["learning"] as? Bool == false)
        #expect(data["ttl"] as? Int == 64)

        // Our own decoder agrees.
        let decoded = try socket.link(named: "weft0")
        #expect(decoded.address == MACAddress("02:57:46:00:00:01"))
        guard case .vxlan(let back)? = decoded.kind else { Issue.record("kind \(String(describing: decoded.kind))"); return }
        #expect(back.vni == 42 && back.local == IPAddress("192.0.2.1") && back.port == 4789 && back.learning == false)
    }

    @Test("add twice is EEXIST, named by operation")
    func addExisting() throws {
        let ns = try TestNamespace()
        let socket = try ns.socket()
        let link = Link(name: "weft0", kind: .vxlan(VXLAN(vni: 42, local: IPAddress("192.0.2.1"), port: 4789)))
        try socket.add(link)
        let error = try #require(throws: NetlinkError.self) { try socket.add(link) }
        #expect(error.errno == .exists)
        #expect(error.description.hasPrefix("add link weft0: "))
        #expect(error.description.contains("EEXIST"))
    }

    @Test("veth pair, bridge, master, up, mtu, delete")
    func vethAndBridge() throws {
        let ns = try TestNamespace()
        let socket = try ns.socket()
        try socket.add(Link(name: "veth0", kind: .veth(Veth(peerName: "veth1"))))
        try socket.add(Link(name: "br0", kind: .bridge(Bridge(stpEnabled: false))))
        let names = try ns.ipJSON(["link", "show"]).compactMap { $0["ifname"] as? String }
        #expect(Set(names).isSuperset(of: ["veth0", "veth1", "br0"]))
        let veth0 = try ns.index(of: "veth0"), veth1 = try ns.index(of: "veth1"), bridge = try ns.index(of: "br0")

        var change = Link(name: "")
        change.index = veth0
        change.master = bridge
        change.mtu = 1450
        change.flags = .up
        try socket.set(change, change: .up)
        let seen = try #require(try ns.ipJSON(["link", "show", "dev", "veth0"]).first)
        #expect(seen["master"] as? String == "br0")
        #expect(seen["mtu"] as? Int == 1450)
        #expect((seen["flags"] as? [String])?.contains("UP") == true)
        #expect(seen["link"] as? String == "veth1")

        let dumped = try socket.dump(Link.self)
        let decoded = try #require(dumped.first { $0.index == veth0 })
        #expect(decoded.parentIndex == veth1 && decoded.master == bridge && decoded.mtu == 1450 && decoded.isUp)
        #expect(dumped.first { $0.index == bridge }?.kind == .bridge(Bridge(stpEnabled: false, vlanFiltering: false)))

        var victim = Link(name: "br0")
        victim.index = bridge
        try socket.delete(victim)
        #expect(try ns.ipJSON(["link", "show"]).allSatisfy { $0["ifname"] as? String != "br0" })
    }

    @Test("a veth peer created straight into another namespace")
    func vethAcrossNamespaces() throws {
        let node = try TestNamespace(), pod = try TestNamespace()
        let fd = open("/var/run/netns/\(pod.name)", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        try node.socket().add(Link(name: "vpod", kind: .veth(Veth(peerName: "eth0", peerNamespaceFD: fd))))
        #expect(try pod.ipJSON(["link", "show", "dev", "eth0"]).count == 1)
        #expect(try node.ipJSON(["link", "show", "dev", "vpod"]).count == 1)
    }

    @Test("a socket sees only its own namespace")
    func namespaceIsolation() throws {
        let a = try TestNamespace(), b = try TestNamespace()
        try a.addVXLAN()
        #expect(try a.socket().dump(Link.self).map(\.name).sorted() == ["lo", "weft0"])
        #expect(try b.socket().dump(Link.self).map(\.name) == ["lo"])
    }

    @Test("a missing namespace is one clear error")
    func missingNamespace() throws {
        let error = try #require(throws: NetworkNamespace.Error.self) {
            try NetlinkSocket(family: .route, namespace: "weft-test-does-not-exist")
        }
        #expect(error.description == "network namespace \"weft-test-does-not-exist\" does not exist")
    }
}
