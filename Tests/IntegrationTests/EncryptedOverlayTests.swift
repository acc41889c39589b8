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

    func state(for me: Node, peer: Node) -> DesiredNodeState {
        let node = NodeSettings(name: "node\(me.n)", index: UInt32(me.n), underlay: "192.0.2.\(me.n)", uplink: "uplink0",
                                vtepMAC: "02:57:46:00:00:0\(me.n)", vtepAddress: "10.244.\(me.n).0", podCIDR: "10.244.\(me.n).0/24", mtu: 1400)
        var settings = node
        settings.incarnation = "boot-\(me.n)"
        // SPIs are chosen by the receiver: node n receives on 0x1000 + n.
        let p = Peer(name: "node\(peer.n)", index: UInt32(peer.n), underlay: "192.0.2.\(peer.n)", vtepMAC: "02:57:46:00:00:0\(peer.n)",
                     vtepAddress: "10.244.\(peer.n).0", podCIDRs: ["10.244.\(peer.n).0/24"], encrypt: true,
                     outbound: SAPlan(spi: UInt32(0x1000 + peer.n), epoch: 1), inbound: SAPlan(spi: UInt32(0x1000 + me.n), epoch: 1),
                     keyAgreementPublicKey: peer.key.publicKey.x963Representation.base64EncodedString())
        var peerEntry = p
        peerEntry.incarnation = "boot-\(peer.n)"
        return DesiredNodeState(revision: 1, cluster: ClusterSettings(id: "esp-test", vni: 42, encryption: true), node: settings, peers: [peerEntry])
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
        let a = Node(ns: try TestNamespace(), n: 1), b = Node(ns: try TestNamespace(), n: 2)
        try run(["ip", "link", "add", "uplink0", "netns", a.ns.name, "type", "veth", "peer", "name", "uplink0", "netns", b.ns.name])
        for node in [a, b] {
            try node.ns.ip(["addr", "add", "192.0.2.\(node.n)/24", "dev", "uplink0"])
            try node.ns.ip(["link", "set", "uplink0", "up"])
        }
        let reportA = try reconciler(a).apply(state(for: a, peer: b))
        let reportB = try reconciler(b).apply(state(for: b, peer: a))
        #expect(reportA.succeeded && reportB.succeeded, "\(reportA.failures) \(reportB.failures)")
        #expect(reportA.xfrmChanges.count == 4 && reportB.xfrmChanges.count == 4)

        #expect(ping(a, 2))
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
}
