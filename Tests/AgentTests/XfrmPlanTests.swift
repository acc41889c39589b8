import Crypto
import Foundation
import Netlink
import Testing
import WeftModel
@testable import WeftAgent

/// The XFRM half of the reconciler, as pure functions: what a desired state asks for, and
/// the ordered changes from one kernel state to the next, through a whole rotation.
@Suite("XFRM plan and rotation (pure)")
struct XfrmPlanTests {
    // Fixed test keys (not secrets): P-256 scalars 1..32 and 33..64.
    nonisolated(unsafe) static let a = try! P256.KeyAgreement.PrivateKey(rawRepresentation: Data((1...32).map { UInt8($0) }))
    nonisolated(unsafe) static let b = try! P256.KeyAgreement.PrivateKey(rawRepresentation: Data((33...64).map { UInt8($0) }))

    /// node-a's state with one encrypting peer, node-b.
    static func state(out: SAPlan = SAPlan(spi: 0x1002, epoch: 1), in inbound: SAPlan = SAPlan(spi: 0x1001, epoch: 1),
                      inNext: SAPlan? = nil, outNext: SAPlan? = nil, limits: SALimits? = nil) -> DesiredNodeState {
        var state = sampleState()
        state.cluster.encryption = true
        state.cluster.saLimits = limits
        state.peers[0].encrypt = true
        state.peers[0].outbound = out
        state.peers[0].inbound = inbound
        state.peers[0].inboundNext = inNext
        state.peers[0].outboundNext = outNext
        state.peers[0].keyAgreementPublicKey = b.publicKey.x963Representation.base64EncodedString()
        return state
    }

    static func sampleState() -> DesiredNodeState {
        let node = NodeSettings(name: "node-a", index: 1, underlay: "192.0.2.1", uplink: "uplink0", vtepMAC: "02:57:46:00:00:01",
                                vtepAddress: "10.244.0.0", podCIDR: "10.244.0.0/24", mtu: 1400)
        let peer = Peer(name: "node-b", index: 2, underlay: "192.0.2.2", vtepMAC: "02:57:46:00:00:02", vtepAddress: "10.244.1.0",
                        podCIDRs: ["10.244.1.0/24"])
        return DesiredNodeState(revision: 1, cluster: ClusterSettings(id: "test", vni: 42, encryption: false), node: node, peers: [peer])
    }

    static func encryption(_ state: DesiredNodeState) throws -> DesiredEncryption { try DesiredEncryption(state, privateKey: a) }

    /// Changes from `observed` (what the kernel has) to `desired`, as readable lines.
    static func changes(from observed: DesiredNodeState, to desired: DesiredNodeState) throws -> [String] {
        let have = try encryption(observed)
        let plan = diffXfrm(desired: try encryption(desired), observedStates: have.states, observedPolicies: have.policies)
        return (plan.adds + plan.deletes).map(\.description)
    }

    @Test("one encrypting peer: an outbound and an inbound SA with limits, an out and an in policy")
    func objects() throws {
        let plan = try Self.encryption(Self.state())
        #expect(plan.states.map(\.spi) == [0x1002, 0x1001])
        #expect(plan.states.allSatisfy { $0.reqid == 0x5700_0002 && $0.aead?.name == "rfc4106(gcm(aes))" && $0.aead?.key.count == 36 })
        #expect(plan.states.allSatisfy { $0.lifetime.softPacketLimit == 1 << 31 && $0.lifetime.hardPacketLimit == 0xffff_0000 })
        #expect(plan.states[0].outputMark == nil && plan.states[1].outputMark == XfrmMark(value: 0x5700_0002))
        #expect(plan.policies.map(\.direction) == [.out, .in])
        #expect(plan.states[0].aead?.key != plan.states[1].aead?.key, "the two directions share a key")
    }

    @Test("no encryption in the cluster: nothing; peer without a plan: a clear error")
    func disabled() throws {
        var state = Self.state()
        state.cluster.encryption = false
        #expect(try Self.encryption(state).states.isEmpty)
        state = Self.state()
        state.peers[0].outbound = nil
        #expect(throws: DesiredEncryption.Error.self) { try Self.encryption(state) }
    }

    @Test("rotation, make-before-break: inbound next first, outbound switches only when ready, old SAs last")
    func rotation() throws {
        let s0 = Self.state()
        #expect(try Self.changes(from: s0, to: s0).isEmpty)
        // 1. The next inbound SA is added beside the current one.
        let s1 = Self.state(inNext: SAPlan(spi: 0x2001, epoch: 2))
        #expect(try Self.changes(from: s0, to: s1) == ["add xfrm state 192.0.2.2 -> 192.0.2.1 spi 0x2001"])
        // 2. The peer's next inbound SA is announced but not ready: nothing moves.
        let s2 = Self.state(inNext: SAPlan(spi: 0x2001, epoch: 2), outNext: SAPlan(spi: 0x2002, epoch: 2, ready: false))
        #expect(try Self.changes(from: s1, to: s2).isEmpty)
        // 3. Ready: the new outbound SA is added before the old one is deleted.
        let s3 = Self.state(inNext: SAPlan(spi: 0x2001, epoch: 2), outNext: SAPlan(spi: 0x2002, epoch: 2, ready: true))
        #expect(try Self.changes(from: s2, to: s3) == ["add xfrm state 192.0.2.1 -> 192.0.2.2 spi 0x2002",
                                                      "delete xfrm state 192.0.2.1 -> 192.0.2.2 spi 0x1002"])
        // 4. The controller completes the epoch: the old inbound SA goes; the new ones stay
        //    untouched (same key whether "next" or current: it depends on SPI and epoch only).
        let s4 = Self.state(out: SAPlan(spi: 0x2002, epoch: 2), in: SAPlan(spi: 0x2001, epoch: 2))
        #expect(try Self.changes(from: s3, to: s4) == ["delete xfrm state 192.0.2.2 -> 192.0.2.1 spi 0x1001"])
        #expect(try Self.changes(from: s4, to: s4).isEmpty)
    }

    @Test("new limits update the SA in place; a new key on the same SPI deletes and adds")
    func updates() throws {
        let s0 = Self.state()
        let limited = Self.state(limits: SALimits(softPackets: 100, hardPackets: 200, softBytes: 1 << 20, hardBytes: 1 << 21))
        #expect(try Self.changes(from: s0, to: limited) == ["update xfrm state 192.0.2.1 -> 192.0.2.2 spi 0x1002",
                                                           "update xfrm state 192.0.2.2 -> 192.0.2.1 spi 0x1001"])
        let updated = try Self.encryption(limited).states[0]
        #expect(updated.lifetime.softByteLimit == 1 << 20 && updated.lifetime.hardPacketLimit == 200)
        let bytes = XfrmChange.updateState(updated).request.bytes
        #expect(UInt16(bytes[4]) | UInt16(bytes[5]) << 8 == MessageType.xfrmUpdSA.rawValue, "not XFRM_MSG_UPDSA")
        var reincarnated = s0
        reincarnated.node.incarnation = "boot-2"
        // Both incarnations are in every key: both directions of the pair get new keys.
        #expect(try Self.changes(from: s0, to: reincarnated) == ["delete xfrm state 192.0.2.1 -> 192.0.2.2 spi 0x1002",
                                                                "delete xfrm state 192.0.2.2 -> 192.0.2.1 spi 0x1001",
                                                                "add xfrm state 192.0.2.1 -> 192.0.2.2 spi 0x1002",
                                                                "add xfrm state 192.0.2.2 -> 192.0.2.1 spi 0x1001"])
    }

    @Test("validation: a next SA on the current SPI, a reserved SPI, limits that let the sequence wrap")
    func validation() {
        var state = Self.state(inNext: SAPlan(spi: 0x1001, epoch: 2), outNext: SAPlan(spi: 7, epoch: 2))
        state.cluster.saLimits = SALimits(softPackets: 10, hardPackets: 1 << 33)
        let problems = state.validate()
        #expect(problems.contains("peers[0].inboundNext.spi 0x1001 equals inbound.spi"))
        #expect(problems.contains("peers[0].outboundNext.spi 7 is reserved (must be >= 256)"))
        #expect(problems.contains { $0.hasPrefix("cluster.saLimits.hardPackets 8589934592 would let the 32-bit ESP sequence number wrap") })
        #expect(Self.state().validate().isEmpty)
    }

    @Test("rotation fields round-trip through JSON; a 1.0 document without them still decodes")
    func encoding() throws {
        let state = Self.state(inNext: SAPlan(spi: 0x2001, epoch: 2), outNext: SAPlan(spi: 0x2002, epoch: 2, ready: true),
                               limits: SALimits(softPackets: 10, hardPackets: 20))
        #expect(try DesiredNodeState.decode(try state.encoded()) == state)
        var old = try JSONSerialization.jsonObject(with: try Self.state().encoded()) as! [String: Any]
        old["version"] = "1.0"
        let decoded = try DesiredNodeState.decode(try JSONSerialization.data(withJSONObject: old))
        #expect(decoded.peers[0].inboundNext == nil && decoded.cluster.saLimits == nil)
    }
}

@Suite("SA ledger, expiry events, MTU arithmetic")
struct SALedgerTests {
    @Test("fingerprint known answer: SHA-256(label || key), first 128 bits; the key itself is never stored")
    func fingerprint() {
        #expect(SALedger.fingerprint(SecretBytes([UInt8](repeating: 0, count: 36))) == "2334bcc4c43c32b4e2c66dfcf294730a")
    }

    @Test("recorded keys survive a restart; the file is 0600 and holds fingerprints only")
    func persisted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weft-ledger-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state/sa-ledger"
        let key = SecretBytes((0..<36).map { UInt8($0) }), other = SecretBytes((1...36).map { UInt8($0) })
        let ledger = try SALedger(path: path)
        #expect(!ledger.contains(key))
        try ledger.record([key, key])
        #expect(ledger.contains(key) && !ledger.contains(other) && ledger.count == 1)
        let reloaded = try SALedger(path: path)
        #expect(reloaded.contains(key) && !reloaded.contains(other))
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == SALedger.fingerprint(key) + "\n")
        #expect(!text.contains(key.revealedHex.dropFirst(2)))
    }

    @Test("a key the kernel refused to install is forgotten (its retry may install it); others stay, also on disk")
    func forget() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weft-ledger-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/sa-ledger"
        let kept = SecretBytes((0..<36).map { UInt8($0) }), refused = SecretBytes((1...36).map { UInt8($0) })
        let ledger = try SALedger(path: path)
        try ledger.record([kept, refused])
        try ledger.forget([refused])
        #expect(ledger.contains(kept) && !ledger.contains(refused))
        let reloaded = try SALedger(path: path)
        #expect(reloaded.contains(kept) && !reloaded.contains(refused) && reloaded.count == 1)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
    }

    @Test("an expire event maps to the peer and direction; another reqid is not Weft's")
    func expiry() {
        var sa = XfrmState(source: IPAddress("192.0.2.2")!, destination: IPAddress("192.0.2.1")!, spi: 0x2001, reqid: 0x5700_0002)
        let inbound = SAExpiry(XfrmExpire(state: sa, hard: false), localUnderlay: IPAddress("192.0.2.1"))
        #expect(inbound?.description == "soft limit reached: inbound SA spi 0x2001 of peer 2")
        sa.source = IPAddress("192.0.2.1")!
        #expect(SAExpiry(XfrmExpire(state: sa, hard: true), localUnderlay: IPAddress("192.0.2.1"))?.direction == .outbound)
        sa.reqid = 42
        #expect(SAExpiry(XfrmExpire(state: sa, hard: false), localUnderlay: nil) == nil)
    }

    @Test("overlay MTU: 1500 leaves 1450 for VXLAN/IPv4, 1413 with ESP, 1430 over IPv6")
    func mtu() {
        #expect(OverlayMTU.maximum(uplinkMTU: 1500, ipv6Underlay: false, encrypted: false).mtu == 1450)
        #expect(OverlayMTU.maximum(uplinkMTU: 1500, ipv6Underlay: false, encrypted: true).mtu == 1413)
        #expect(OverlayMTU.maximum(uplinkMTU: 1500, ipv6Underlay: true, encrypted: false).mtu == 1430)
        var state = XfrmPlanTests.state()
        state.node.mtu = 1450
        #expect(OverlayMTU.problem(state, uplinkMTU: 1500) == "node.mtu 1450 does not fit uplink uplink0: 1500 - 50 (VXLAN over IPv4) - 37 (ESP) = 1413")
        state.node.mtu = 1413
        #expect(OverlayMTU.problem(state, uplinkMTU: 1500) == nil)
        state.cluster.encryption = false
        state.node.mtu = 1450
        #expect(OverlayMTU.problem(state, uplinkMTU: 1500) == nil)
    }
}
