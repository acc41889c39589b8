import Foundation
import Netlink
import Testing

enum XfrmFixture {
    static let a = IPAddress("192.0.2.1")!, b = IPAddress("192.0.2.2")!
    static let reqid: UInt32 = 0x5700_0002

    static func policy(_ direction: XfrmDirection) -> XfrmPolicy {
        let (src, dst) = direction == .out ? (a, b) : (b, a)
        var selector = XfrmSelector(source: IPPrefix(src, 32), destination: IPPrefix(dst, 32), protocolID: .udp,
                                    destinationPort: 4789)
        selector.family = .inet
        var policy = XfrmPolicy(selector: selector, direction: direction, templates: [XfrmTemplate(source: src, destination: dst, reqid: reqid)])
        policy.priority = 100
        policy.mark = XfrmMark(value: 0x5700, mask: 0xff00)
        return policy
    }

    /// A test key, not a secret: 256-bit AES key + 32-bit salt.
    static let key = SecretBytes((0..<36).map { UInt8($0) })

    static func state(spi: UInt32 = 0x1001) -> XfrmState {
        var state = XfrmState(source: a, destination: b, spi: spi, reqid: reqid)
        state.aead = XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: key, lengthBits: 128)
        state.replayWindow = 32
        state.selector = XfrmSelector(source: IPPrefix(a, 32), destination: IPPrefix(b, 32), protocolID: .udp, destinationPort: 4789)
        state.outputMark = XfrmMark(value: 0x42)
        state.lifetime.softPacketLimit = 1_000_000
        state.lifetime.hardPacketLimit = 2_000_000
        return state
    }
}

@Suite("xfrm policies on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct XfrmPolicyTests {
    @Test("out and in policies: add, get, update, delete; ip xfrm agrees")
    func policies() throws {
        let ns = try TestNamespace()
        let socket = try ns.socket(.xfrm)
        var out = XfrmFixture.policy(.out)
        let inbound = XfrmFixture.policy(.in)
        try socket.add(out)
        try socket.add(inbound)
        let text = try ns.ip(["xfrm", "policy", "list"])
        #expect(text.contains("src 192.0.2.1/32 dst 192.0.2.2/32 proto udp dport 4789"))
        #expect(text.contains("dir out priority 100"))
        #expect(text.contains("dir in priority 100"))
        #expect(text.contains("mark 0x5700/0xff00"))
        #expect(text.contains("proto esp reqid \(XfrmFixture.reqid) mode transport"))

        let dumped = try socket.dump(XfrmPolicy.self)
        #expect(dumped.count == 2)
        let got = try socket.get(out.getRequest(), as: XfrmPolicy.self)
        #expect(got.templates == out.templates && got.selector == out.selector && got.mark == out.mark)
        #expect(got.templates.first?.optional == false)  // level required: plaintext is dropped

        out.priority = 50
        try socket.replace(out)
        #expect(try ns.ip(["xfrm", "policy", "list"]).contains("dir out priority 50"))
        #expect(throws: NetlinkError.self) { try socket.add(XfrmFixture.policy(.out)) }

        try socket.delete(out)
        try socket.delete(inbound)
        #expect(try ns.ip(["xfrm", "policy", "list"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }
}

@Suite("xfrm states on the real kernel (ESP)", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct XfrmStateTests {
    @Test("without ESP in the kernel, add fails with a clear error naming the SA and no key",
          .enabled(if: !Host.canInstallESP, "this kernel has ESP; the VM tests cover the success path"))
    func noESP() throws {
        let ns = try TestNamespace()
        let error = try #require(throws: NetlinkError.self) { try ns.socket(.xfrm).add(XfrmFixture.state()) }
        #expect(error.description.hasPrefix("add xfrm state src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1001: "))
        #expect(!error.description.contains("0001020304"))
    }

    @Test("AEAD transport SA with output mark and limits: add, dump, update, delete",
          .enabled(if: Host.canInstallESP, Comment(rawValue: Host.espReason)))
    func aeadState() throws {
        let ns = try TestNamespace()
        let socket = try ns.socket(.xfrm)
        var state = XfrmFixture.state()
        try socket.add(state)
        let text = try ns.ip(["xfrm", "state", "list"])
        #expect(text.contains("proto esp spi 0x00001001 reqid \(XfrmFixture.reqid) mode transport"))
        #expect(text.contains("aead rfc4106(gcm(aes)) 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223 128"))
        #expect(text.contains("output-mark 0x42"))
        #expect(text.contains("replay-window 32"))

        let dumped = try #require(try socket.dump(XfrmState.self).first)
        #expect(dumped.aead == state.aead && dumped.outputMark?.value == 0x42 && dumped.reqid == XfrmFixture.reqid)
        let got = try socket.get(state.getRequest(), as: XfrmState.self)
        #expect(got.spi == 0x1001 && got.aead == state.aead && got.source == XfrmFixture.a)
        #expect(dumped.lifetime.softPacketLimit == 1_000_000 && dumped.lifetime.hardPacketLimit == 2_000_000)
        #expect(dumped.selector.destinationPort == 4789 && dumped.selector.protocolID == .udp)
        #expect(String(describing: dumped).contains("0001020304") == false)

        #expect(throws: NetlinkError.self) { try socket.add(state) }
        state.outputMark = XfrmMark(value: 0x43)
        try socket.replace(state)
        #expect(try ns.ip(["xfrm", "state", "list"]).contains("output-mark 0x43"))

        try socket.delete(state)
        #expect(try ns.ip(["xfrm", "state", "list"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    @Test("tunnel-mode SA with cbc(aes) + hmac(sha256)", .enabled(if: Host.canInstallESP, Comment(rawValue: Host.espReason)))
    func encAuthState() throws {
        let ns = try TestNamespace()
        let socket = try ns.socket(.xfrm)
        var state = XfrmState(source: XfrmFixture.a, destination: XfrmFixture.b, spi: 0x2002, reqid: 7, mode: .tunnel)
        state.encryption = XfrmAlgorithm(name: "cbc(aes)", key: SecretBytes(Array(repeating: 0xaa, count: 16)))
        state.authentication = XfrmAlgorithm(name: "hmac(sha256)", key: SecretBytes(Array(repeating: 0xbb, count: 32)), lengthBits: 128)
        try socket.add(state)
        let text = try ns.ip(["xfrm", "state", "list"])
        #expect(text.contains("mode tunnel"))
        #expect(text.contains("enc cbc(aes) 0x" + String(repeating: "aa", count: 16)))
        #expect(text.contains("auth-trunc hmac(sha256) 0x" + String(repeating: "bb", count: 32) + " 128"))
        let dumped = try #require(try socket.dump(XfrmState.self).first)
        #expect(dumped.encryption == state.encryption && dumped.authentication == state.authentication && dumped.mode == .tunnel)
        try socket.delete(state)
    }
}
