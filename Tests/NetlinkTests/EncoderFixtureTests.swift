import Netlink
import Testing

/// Weft's encoder must produce the bytes iproute2 sends for the same request
/// (sequence number and port id aside).
@Suite("requests match iproute2's bytes")
struct EncoderFixtureTests {
    static let weft0: Int32 = 2, veth0: Int32 = 4, bridge: Int32 = 5
    static let mac2 = MACAddress("02:57:46:00:00:02")!

    func expectSame(_ request: Request, _ fixture: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = withoutSequenceAndPort(try Fixture(fixture).firstMessage)
        let actual = withoutSequenceAndPort(request.bytes)
        #expect(hexDump(actual) == hexDump(expected), "\(fixture)", sourceLocation: sourceLocation)
    }

    @Test func links() throws {
        var vxlan = Link(name: "weft0", kind: .vxlan(VXLAN(vni: 42, local: IPAddress("192.0.2.1"), port: 4789, learning: false)))
        vxlan.address = MACAddress("02:57:46:00:00:01")
        vxlan.mtu = 1400
        try expectSame(vxlan.request(.add), "link-add-vxlan")
        try expectSame(Link(name: "veth0", kind: .veth(Veth(peerName: "veth1"))).request(.add), "link-add-veth")
        try expectSame(Link(name: "br0", kind: .bridge(Bridge())).request(.add), "link-add-bridge")

        var up = Link(name: "")
        up.index = Self.weft0
        up.flags = .up
        try expectSame(up.setRequest(change: .up), "link-set-up")
        var address = Link(name: "")
        address.index = Self.veth0
        address.address = MACAddress("02:57:46:00:01:00")
        try expectSame(address.setRequest(), "link-set-address")
        var victim = Link(name: "br0")
        victim.index = Self.bridge
        try expectSame(victim.request(.delete), "link-del")
        try expectSame(Link.dumpRequest(family: .unspecified), "link-dump")
    }

    @Test func addresses() throws {
        try expectSame(Address(index: Self.veth0, local: IPPrefix("192.0.2.1/24")!).request(.add), "addr-add")
        try expectSame(Address(index: Self.veth0, local: IPPrefix("2001:db8::1/64")!, flags: .noDAD).request(.add), "addr-add-v6")
        try expectSame(Address.dumpRequest(family: .unspecified), "addr-dump")
    }

    @Test func neighboursAndFDB() throws {
        try expectSame(Neighbour(index: Self.weft0, destination: IPAddress("10.244.1.0")!, linkLayerAddress: Self.mac2).request(.add), "neigh-add")
        let replaced = Neighbour(index: Self.weft0, destination: IPAddress("10.244.2.0")!, linkLayerAddress: MACAddress("02:57:46:00:00:03"))
        try expectSame(replaced.request(.replace), "neigh-replace")
        try expectSame(Neighbour(index: Self.weft0, destination: IPAddress("10.244.2.0")!, linkLayerAddress: nil).request(.delete), "neigh-del")
        try expectSame(Neighbour.dumpRequest(family: .unspecified), "neigh-dump")

        try expectSame(FDBEntry(index: Self.weft0, mac: Self.mac2, destination: IPAddress("192.0.2.2")).request(.append), "fdb-append")
        try expectSame(FDBEntry(index: Self.weft0, mac: MACAddress(0), destination: IPAddress("192.0.2.2")).request(.append), "fdb-append-zero")
        let third = FDBEntry(index: Self.weft0, mac: MACAddress("02:57:46:00:00:03")!, destination: IPAddress("192.0.2.3"))
        try expectSame(third.request(.add), "fdb-add")
        try expectSame(third.request(.delete), "fdb-del")
        try expectSame(FDBEntry.dumpRequest(), "fdb-dump")
    }

    @Test func routes() throws {
        var route = Route(destination: IPPrefix("10.244.1.0/24")!, gateway: IPAddress("10.244.1.0"), outputIndex: Self.weft0)
        route.flags = .onLink
        route.protocolID = RouteProtocol(rawValue: 87)
        try expectSame(route.request(.add), "route-add")
        route.destination = IPPrefix("10.244.2.0/24")!
        route.gateway = IPAddress("10.244.2.0")
        try expectSame(route.request(.replace), "route-replace")

        var table = Route(destination: IPPrefix("10.245.0.0/16")!, outputIndex: Self.weft0)
        table.table = RouteTable(rawValue: 100)
        table.protocolID = RouteProtocol(rawValue: 87)
        table.scope = .link
        try expectSame(table.request(.add), "route-add-table")

        var removal = Route(destination: IPPrefix("10.244.2.0/24")!, outputIndex: Self.weft0)
        removal.protocolID = RouteProtocol(rawValue: 87)
        try expectSame(removal.request(.delete), "route-del")
        try expectSame(Route.dumpRequest(family: .unspecified), "route-dump")
    }

    static func policy(_ direction: XfrmDirection) -> XfrmPolicy {
        let a = IPAddress("192.0.2.1")!, b = IPAddress("192.0.2.2")!
        let (src, dst) = direction == .out ? (a, b) : (b, a)
        let selector = XfrmSelector(source: IPPrefix(src, 32), destination: IPPrefix(dst, 32), protocolID: .udp,
                                    sourcePort: direction == .in ? 4789 : nil, destinationPort: direction == .out ? 4789 : nil)
        var policy = XfrmPolicy(selector: selector, direction: direction, templates: [XfrmTemplate(source: src, destination: dst, reqid: 0x5700_0002)])
        policy.priority = 100
        policy.mark = XfrmMark(value: 0x5700, mask: 0xff00)
        return policy
    }

    @Test func xfrmPolicies() throws {
        try expectSame(Self.policy(.out).request(.add), "xfrm-policy-add-out")
        try expectSame(Self.policy(.in).request(.add), "xfrm-policy-add-in")
        var lookup = Self.policy(.out)
        lookup.templates = []
        try expectSame(lookup.getRequest(), "xfrm-policy-get")
        try expectSame(lookup.request(.delete), "xfrm-policy-del")
        try expectSame(XfrmPolicy.dumpRequest(family: .unspecified), "xfrm-policy-dump")
    }

    @Test func xfrmStates() throws {
        let a = IPAddress("192.0.2.1")!, b = IPAddress("192.0.2.2")!
        var aead = XfrmState(source: a, destination: b, spi: 0x1001, reqid: 0x5700_0002)
        aead.replayWindow = 32
        aead.aead = XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: SecretBytes((0..<36).map { UInt8($0) }), lengthBits: 128)
        aead.selector = XfrmSelector(source: IPPrefix(a, 32), destination: IPPrefix(b, 32), protocolID: .udp, destinationPort: 4789)
        aead.outputMark = XfrmMark(value: 0x42)
        aead.lifetime.softPacketLimit = 1_000_000
        aead.lifetime.hardPacketLimit = 2_000_000
        try expectSame(aead.request(.add), "xfrm-state-add-aead")

        var cbc = XfrmState(source: a, destination: b, spi: 0x1002, reqid: 0x5700_0002, mode: .tunnel)
        cbc.encryption = XfrmAlgorithm(name: "cbc(aes)", key: SecretBytes((0..<16).map { UInt8($0) }))
        cbc.authentication = XfrmAlgorithm(name: "hmac(sha256)", key: SecretBytes((0x20..<0x40).map { UInt8($0) }), lengthBits: 128)
        try expectSame(cbc.request(.add), "xfrm-state-add-cbc")

        try expectSame(XfrmState(source: a, destination: b, spi: 0x1001).request(.delete), "xfrm-state-del")
    }
}
