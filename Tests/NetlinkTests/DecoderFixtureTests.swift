import Netlink
import Testing

/// Weft's decoder must read what the kernel really sent (replies captured from iproute2's
/// sessions on this machine kind).
@Suite("kernel replies decode")
struct DecoderFixtureTests {
    func decodeAll<T: NetlinkObject>(_ type: T.Type, _ fixtures: String...) throws -> [T] {
        try fixtures.flatMap { try Fixture($0).messages() }
            .filter { T.dumpReplyTypes.contains($0.header.type) && T.isMember($0) }
            .map { try T(decoding: $0) }
    }

    @Test func linkDump() throws {
        let links = try decodeAll(Link.self, "link-dump-reply-1", "link-dump-reply-2")
        #expect(links.map(\.name) == ["lo", "weft0", "veth1", "veth0", "br0"])
        let weft0 = try #require(links.first { $0.name == "weft0" })
        #expect(weft0.index == 2 && weft0.mtu == 1400 && weft0.address == MACAddress("02:57:46:00:00:01"))
        guard case .vxlan(let vxlan)? = weft0.kind else { Issue.record("weft0 is \(String(describing: weft0.kind))"); return }
        #expect(vxlan.vni == 42 && vxlan.local == IPAddress("192.0.2.1") && vxlan.port == 4789 && vxlan.learning == false)
        let veth0 = try #require(links.first { $0.name == "veth0" })
        #expect(veth0.parentIndex == 3 && veth0.kind == .veth(Veth()))
        #expect(links.first { $0.name == "br0" }?.kind?.name == "bridge")
        #expect(links.first { $0.name == "lo" }?.hardwareType == 772)
    }

    @Test func linkGet() throws {
        let link = try Link(decoding: try #require(try Fixture("link-get-reply").messages().first))
        #expect(link.name == "weft0" && link.index == 2)
    }

    @Test func addressDump() throws {
        let addresses = try decodeAll(Address.self, "addr-dump-reply-1", "addr-dump-reply-2")
        #expect(addresses.contains { $0.local == IPPrefix("192.0.2.1/24") && $0.index == 4 && $0.label == "veth0" })
        #expect(addresses.contains { $0.local == IPPrefix("2001:db8::1/64") && $0.flags.contains(.noDAD) })
    }

    @Test func neighbourAndFDBDumps() throws {
        let neighbours = try decodeAll(Neighbour.self, "neigh-dump-reply")
        #expect(neighbours.contains { $0.destination == IPAddress("10.244.1.0") && $0.linkLayerAddress == MACAddress("02:57:46:00:00:02") && $0.state == .permanent })
        let fdb = try decodeAll(FDBEntry.self, "fdb-dump-reply-1", "fdb-dump-reply-2")
        let overlay = fdb.filter { $0.index == 2 && $0.destination != nil }
        #expect(overlay.contains { $0.mac == MACAddress("02:57:46:00:00:02") && $0.destination == IPAddress("192.0.2.2") && $0.flags.contains(.self) })
        #expect(overlay.contains { $0.mac == MACAddress(0) && $0.destination == IPAddress("192.0.2.2") })
        #expect(neighbours.allSatisfy { $0.destination.family != .bridge })
    }

    @Test func routeDump() throws {
        let routes = try decodeAll(Route.self, "route-dump-reply-1", "route-dump-reply-2")
        let weft = try #require(routes.first { $0.destination == IPPrefix("10.244.1.0/24") })
        #expect(weft.gateway == IPAddress("10.244.1.0") && weft.outputIndex == 2 && weft.flags.contains(.onLink))
        #expect(weft.protocolID.rawValue == 87 && weft.table == .main)
        #expect(routes.contains { $0.table.rawValue == 100 && $0.destination == IPPrefix("10.245.0.0/16") && $0.scope == .link })
        #expect(routes.contains { $0.table == .local && $0.type == .local })
    }

    @Test func xfrmPolicyDumpAndGet() throws {
        let policies = try decodeAll(XfrmPolicy.self, "xfrm-policy-dump-reply-1", "xfrm-policy-dump-reply-2")
        #expect(policies.count == 2)
        let out = try #require(policies.first { $0.direction == .out })
        #expect(out.selector.destinationPort == 4789 && out.selector.destinationPortMask == 0xffff && out.selector.protocolID == .udp)
        #expect(out.selector.source == IPPrefix("192.0.2.1/32") && out.priority == 100)
        #expect(out.mark == XfrmMark(value: 0x5700, mask: 0xff00))
        #expect(out.templates == [XfrmTemplate(source: IPAddress("192.0.2.1")!, destination: IPAddress("192.0.2.2")!, reqid: 0x5700_0002)])
        let got = try XfrmPolicy(decoding: try #require(try Fixture("xfrm-policy-get-reply").messages().first))
        #expect(got.selector == out.selector && got.index == out.index)
    }

    @Test("request fixtures decode as the objects they carry")
    func requestsDecode() throws {
        let state = try XfrmState(decoding: try #require(try Fixture("xfrm-state-add-aead").messages().first))
        #expect(state.spi == 0x1001 && state.reqid == 0x5700_0002 && state.replayWindow == 32 && state.outputMark?.value == 0x42)
        #expect(state.aead?.name == "rfc4106(gcm(aes))" && state.aead?.key.count == 36 && state.aead?.lengthBits == 128)
        let cbc = try XfrmState(decoding: try #require(try Fixture("xfrm-state-add-cbc").messages().first))
        #expect(cbc.mode == .tunnel && cbc.encryption?.name == "cbc(aes)" && cbc.authentication?.lengthBits == 128)
    }

    @Test("errors and ACKs: errno, echoed request, extended-ack text")
    func errorReplies() throws {
        let exists = try ErrorMessage(decoding: try #require(try Fixture("link-add-vxlan-eexist-error-reply").messages().first))
        #expect(exists.errno == 17 && exists.request.type == .newLink && exists.extAckMessage == nil)

        let gateway = try ErrorMessage(decoding: try #require(try Fixture("route-add-invalid-gw-error-reply").messages().first))
        #expect(gateway.errno == 101 && gateway.extAckMessage == "Nexthop has invalid gateway")

        let aead = try ErrorMessage(decoding: try #require(try Fixture("xfrm-state-add-aead-error-reply").messages().first))
        #expect(aead.errno == 38 && aead.extAckMessage == "Requested AEAD algorithm not found")

        let ack = try ErrorMessage(decoding: try #require(try Fixture("xfrm-policy-add-out-ack").messages().first))
        #expect(ack.isAck && ack.request.type == .xfrmNewPolicy)
    }
}
