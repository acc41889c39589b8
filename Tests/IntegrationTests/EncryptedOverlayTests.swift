import Crypto
import Foundation
import Netlink
import Testing
import WeftAgent
import WeftModel

/// Two nodes whose overlay is encrypted by the reconciler: keys derived on each side from
/// its own private key and the other's public key, XFRM SAs and policies installed by
/// `Reconciler.apply`. Needs a kernel with ESP (the VM step of scripts/test).
@Suite("encrypted overlay (ESP)", .enabled(if: Host.isRoot && Host.hasIPRoute2 && Host.canInstallESP, Comment(rawValue: Host.espReason)))
struct EncryptedOverlayTests {
    struct Node {
        let ns: TestNamespace
        let key = P256.KeyAgreement.PrivateKey()
        let n: Int
    }

    /// SPIs are chosen by the receiver: node n receives on 0x1000 + n in epoch 1 and on
    /// 0x2000 + n in epoch 2.
    static func plan(to receiver: Int, epoch: UInt32 = 1, ready: Bool? = nil) -> SAPlan {
        SAPlan(spi: UInt32(epoch * 0x1000) + UInt32(receiver), epoch: epoch, ready: ready)
    }

    /// `me`'s desired state with `peer` as its one encrypting peer; `adjust` edits the peer
    /// entry (rotation fields) and the rest.
    func state(for me: Node, peer: Node, incarnations: (me: String, peer: String)? = nil,
               adjust: (inout DesiredNodeState) -> Void = { _ in }) -> DesiredNodeState {
        var settings = NodeSettings(name: "node\(me.n)", index: UInt32(me.n), underlay: "192.0.2.\(me.n)", uplink: "uplink0",
                                    vtepMAC: "02:57:46:00:00:0\(me.n)", vtepAddress: "10.244.\(me.n).0", podCIDR: "10.244.\(me.n).0/24", mtu: 1400)
        settings.incarnation = incarnations?.me ?? "boot-\(me.n)"
        var p = Peer(name: "node\(peer.n)", index: UInt32(peer.n), underlay: "192.0.2.\(peer.n)", vtepMAC: "02:57:46:00:00:0\(peer.n)",
                     vtepAddress: "10.244.\(peer.n).0", podCIDRs: ["10.244.\(peer.n).0/24"], encrypt: true,
                     outbound: Self.plan(to: peer.n), inbound: Self.plan(to: me.n),
                     keyAgreementPublicKey: peer.key.publicKey.x963Representation.base64EncodedString())
        p.incarnation = incarnations?.peer ?? "boot-\(peer.n)"
        var state = DesiredNodeState(revision: 1, cluster: ClusterSettings(id: "esp-test", vni: 42, encryption: true), node: settings, peers: [p])
        adjust(&state)
        return state
    }

    /// Two nodes on one veth pair (192.0.2.1 and .2).
    func pair() throws -> (Node, Node) {
        let a = Node(ns: try TestNamespace(), n: 1), b = Node(ns: try TestNamespace(), n: 2)
        try run(["ip", "link", "add", "uplink0", "netns", a.ns.name, "type", "veth", "peer", "name", "uplink0", "netns", b.ns.name])
        for node in [a, b] {
            try node.ns.ip(["addr", "add", "192.0.2.\(node.n)/24", "dev", "uplink0"])
            try node.ns.ip(["link", "set", "uplink0", "up"])
        }
        return (a, b)
    }

    func spis(_ node: Node) throws -> [UInt32] {
        try node.ns.socket(.xfrm).dump(XfrmState.self).map(\.spi).sorted()
    }

    func reconciler(_ node: Node) throws -> Reconciler {
        Reconciler(socket: try node.ns.socket(), xfrm: try node.ns.socket(.xfrm), privateKey: node.key)
    }

    func ping(_ from: Node, _ to: Int) -> Bool {
        (try? run(["ip", "netns", "exec", from.ns.name, "ping", "-c", "2", "-W", "2", "-I", "10.244.\(from.n).0", "10.244.\(to).0"])) != nil
    }

    /// Packets counted by the SA with this SPI in this namespace.
    func packets(_ node: Node, spi: UInt32) throws -> UInt64 {
        try node.ns.socket(.xfrm).dump(XfrmState.self).first { $0.spi == spi }?.counters.packets ?? 0
    }

    @Test("both ends derive matching SAs; traffic flows only through ESP; a removed policy is put back")
    func encrypted() throws {
        let (a, b) = try pair()
        let reportA = try reconciler(a).apply(state(for: a, peer: b))
        let reportB = try reconciler(b).apply(state(for: b, peer: a))
        #expect(reportA.succeeded && reportB.succeeded, "\(reportA.failures) \(reportB.failures)")
        #expect(reportA.xfrmChanges.count == 4 && reportB.xfrmChanges.count == 4)

        // The underlay, seen from B: ESP only, no plaintext VXLAN.
        let capture = try Background(["ip", "netns", "exec", b.ns.name, "tcpdump", "-i", "uplink0", "-n", "-U", "-l", "--immediate-mode", "-Z", "root",
                                      "esp or udp port 4789"])
        #expect(capture.wait(for: "listening on"), "tcpdump did not start: \(capture.text)")
        #expect(ping(a, 2))
        Thread.sleep(forTimeInterval: 0.3)
        let lines = capture.stop().split(separator: "\n")
        let esp = lines.filter { $0.contains(": ESP(spi=") }.count, vxlan = lines.filter { $0.contains(".4789:") }.count
        #expect(esp >= 4 && vxlan == 0, "capture: \(esp) ESP, \(vxlan) plaintext VXLAN")
        #expect(try packets(a, spi: 0x1002) > 0, "A's outbound SA carried nothing")
        #expect(try packets(b, spi: 0x1002) > 0, "B's inbound SA decrypted nothing")
        #expect(try packets(b, spi: 0x1001) > 0 && packets(a, spi: 0x1001) > 0, "the replies did not go through ESP")
        let marked = try b.ns.socket(.xfrm).dump(XfrmState.self).first { $0.spi == 0x1002 }
        #expect(marked?.outputMark == XfrmMark(value: 0x5700_0001))

        // Without A's outbound policy A sends plaintext VXLAN: B's inbound policy drops it.
        try a.ns.ip(["xfrm", "policy", "del", "src", "192.0.2.1/32", "dst", "192.0.2.2/32", "proto", "udp", "dport", "4789", "dir", "out"])
        #expect(!ping(a, 2))
        // The next reconcile puts exactly that policy back, and traffic flows again.
        let repair = try reconciler(a).apply(state(for: a, peer: b))
        #expect(repair.xfrmChanges.map(\.description) == ["add xfrm policy 192.0.2.1/32 -> 192.0.2.2/32 dir out"])
        #expect(ping(a, 2))
        // Applying again changes nothing.
        #expect(try reconciler(a).apply(state(for: a, peer: b)).writes == 0)
    }

    @Test("rotation under traffic: next inbound first, outbound switches when ready, old SAs removed; no ping lost")
    func rotation() throws {
        let (a, b) = try pair()
        func apply(_ states: (DesiredNodeState, DesiredNodeState)) throws {
            let ra = try reconciler(a).apply(states.0), rb = try reconciler(b).apply(states.1)
            #expect(ra.succeeded && rb.succeeded, "\(ra.failures) \(ra.refused) \(rb.failures) \(rb.refused)")
        }
        func stage(_ adjust: @escaping (inout Peer, _ me: Int, _ peer: Int) -> Void) -> (DesiredNodeState, DesiredNodeState) {
            (state(for: a, peer: b) { adjust(&$0.peers[0], 1, 2) }, state(for: b, peer: a) { adjust(&$0.peers[0], 2, 1) })
        }
        try apply(stage { _, _, _ in })
        #expect(ping(a, 2))
        let traffic = try Background(["ip", "netns", "exec", a.ns.name, "ping", "-i", "0.02", "-c", "250", "-W", "1", "-I", "10.244.1.0", "10.244.2.0"])
        Thread.sleep(forTimeInterval: 0.5)
        // 1. Each node installs its next inbound SA beside the current one.
        try apply(stage { peer, me, _ in peer.inboundNext = Self.plan(to: me, epoch: 2) })
        #expect(try spis(a) == [0x1001, 0x1002, 0x2001])
        Thread.sleep(forTimeInterval: 0.5)
        // 2. The controller saw both acknowledgements: outbound switches (new added, old removed).
        try apply(stage { peer, me, other in
            peer.inboundNext = Self.plan(to: me, epoch: 2)
            peer.outboundNext = Self.plan(to: other, epoch: 2, ready: true)
        })
        #expect(try spis(a) == [0x1001, 0x2001, 0x2002])
        Thread.sleep(forTimeInterval: 0.5)
        // 3. Both switched: epoch 2 is current, the old inbound SAs go.
        try apply(stage { peer, me, other in
            peer.inbound = Self.plan(to: me, epoch: 2)
            peer.outbound = Self.plan(to: other, epoch: 2)
        })
        #expect(try spis(a) == [0x2001, 0x2002] && spis(b) == [0x2001, 0x2002])
        let result = pingLoss(traffic.finish())
        #expect(result != nil && result!.sent == 250 && result!.received == 250, "ping across the rotation: \(traffic.text.suffix(300))")
        #expect(try packets(b, spi: 0x2002) > 0 && packets(a, spi: 0x2001) > 0, "the new SAs carried nothing")
    }

    @Test("an SA deleted behind the agent's back is not re-added with its old key; a new incarnation brings it back")
    func ledger() throws {
        let (a, b) = try pair()
        let ra = try reconciler(a), rb = try reconciler(b)
        _ = try ra.apply(state(for: a, peer: b)); _ = try rb.apply(state(for: b, peer: a))
        #expect(ping(a, 2))
        try b.ns.ip(["xfrm", "state", "del", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x1002"])
        let refused = try rb.apply(state(for: b, peer: a))
        #expect(!refused.succeeded && refused.writes == 0)
        #expect(refused.refused.map(\.change.description) == ["add xfrm state 192.0.2.1 -> 192.0.2.2 spi 0x1002"])
        #expect(refused.refused.first?.reason.contains("GCM nonces") == true)
        #expect(!ping(a, 2))
        // Node A rebooted in the controller's eyes: a new incarnation, new keys both sides.
        let fresh = try ra.apply(state(for: a, peer: b, incarnations: ("boot-1b", "boot-2")))
        let freshB = try rb.apply(state(for: b, peer: a, incarnations: ("boot-2", "boot-1b")))
        #expect(fresh.succeeded && freshB.succeeded, "\(fresh.refused) \(freshB.refused)")
        #expect(ping(a, 2))
    }

    @Test("soft limit: the kernel reports the expiry, mapped to the peer; new limits update the SA in place")
    func softExpiry() throws {
        let (a, b) = try pair()
        let events = try b.ns.socket(.xfrm)
        try events.subscribe([.xfrmExpire])
        _ = try reconciler(a).apply(state(for: a, peer: b))
        let limited = state(for: b, peer: a) { $0.cluster.saLimits = SALimits(softPackets: 3, hardPackets: 1000) }
        _ = try reconciler(b).apply(limited)
        #expect(ping(a, 2) && ping(a, 2))
        let expiries = try events.receive().compactMap { message -> SAExpiry? in
            guard case .xfrmExpire(let event)? = try? NetlinkEvent(decoding: message, family: .xfrm) else { return nil }
            return SAExpiry(event, localUnderlay: IPAddress("192.0.2.2"))
        }
        #expect(expiries.contains { !$0.hard && $0.peerIndex == 1 && $0.direction == .inbound && $0.spi == 0x1002 }, "\(expiries)")
        // Raising the limits is an in-place update: the SA keeps its key and its counters.
        let before = try packets(b, spi: 0x1002)
        let raised = try reconciler(b).apply(state(for: b, peer: a) { $0.cluster.saLimits = SALimits(softPackets: 500, hardPackets: 1000) })
        #expect(raised.xfrmChanges.map(\.description) == ["update xfrm state 192.0.2.2 -> 192.0.2.1 spi 0x1001",
                                                           "update xfrm state 192.0.2.1 -> 192.0.2.2 spi 0x1002"])
        #expect(try packets(b, spi: 0x1002) >= before && before > 0)
        let sa = try b.ns.socket(.xfrm).dump(XfrmState.self).first { $0.spi == 0x1002 }
        #expect(sa?.lifetime.softPacketLimit == 500)
        #expect(ping(a, 2))
    }
}
