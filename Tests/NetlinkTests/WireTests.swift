import CNetlink
import Foundation
import Netlink
import Testing

@Suite("wire layout and values")
struct WireTests {
    @Test("fixed headers have the kernel's sizes (linux/xfrm.h, rtnetlink.h)")
    func sizes() {
        #expect(MemoryLayout<xfrm_usersa_info>.size == 224)
        #expect(MemoryLayout<xfrm_userpolicy_info>.size == 168)
        #expect(MemoryLayout<xfrm_user_tmpl>.size == 64)
        #expect(MemoryLayout<xfrm_selector>.size == 56)
        #expect(MemoryLayout<xfrm_usersa_id>.size == 24)
        #expect(MemoryLayout<xfrm_userpolicy_id>.size == 64)
        #expect(MemoryLayout<ifinfomsg>.size == 16)
        #expect(MemoryLayout<ifaddrmsg>.size == 8)
        #expect(MemoryLayout<ndmsg>.size == 12)
        #expect(MemoryLayout<rtmsg>.size == 12)
        #expect(MemoryLayout<nlmsghdr>.size == MessageHeader.size)
    }

    @Test("the offsets the XFRM codec reads at are the C struct's")
    func offsets() {
        #expect(MemoryLayout<xfrm_usersa_info>.offset(of: \.id) == 56)
        #expect(MemoryLayout<xfrm_usersa_info>.offset(of: \.saddr) == 80)
        #expect(MemoryLayout<xfrm_usersa_info>.offset(of: \.lft) == 96)
        #expect(MemoryLayout<xfrm_usersa_info>.offset(of: \.curlft) == 160)
        #expect(MemoryLayout<xfrm_usersa_info>.offset(of: \.reqid) == 208)
        #expect(MemoryLayout<xfrm_usersa_info>.offset(of: \.family) == 212)
        #expect(MemoryLayout<xfrm_usersa_info>.offset(of: \.flags) == 216)
        #expect(MemoryLayout<xfrm_userpolicy_info>.offset(of: \.priority) == 152)
        #expect(MemoryLayout<xfrm_userpolicy_info>.offset(of: \.dir) == 160)
        #expect(MemoryLayout<xfrm_user_tmpl>.offset(of: \.saddr) == 28)
        #expect(MemoryLayout<xfrm_user_tmpl>.offset(of: \.reqid) == 44)
        #expect(MemoryLayout<xfrm_selector>.offset(of: \.family) == 40)
        #expect(MemoryLayout<xfrm_selector>.offset(of: \.ifindex) == 48)
    }

    @Test("attribute and message constants match the kernel headers")
    func constants() {
        #expect(MessageType.newLink.rawValue == UInt16(RTM_NEWLINK))
        #expect(MessageType.newRoute.rawValue == UInt16(RTM_NEWROUTE))
        #expect(MessageType.newNeigh.rawValue == UInt16(RTM_NEWNEIGH))
        #expect(MessageType.xfrmNewSA.rawValue == UInt16(XFRM_MSG_NEWSA))
        #expect(MessageType.xfrmUpdPolicy.rawValue == UInt16(XFRM_MSG_UPDPOLICY))
        #expect(MessageType.xfrmExpire.rawValue == UInt16(XFRM_MSG_EXPIRE))
        #expect(MessageFlags.dump.rawValue == UInt16(NLM_F_DUMP))
        #expect(MessageFlags.ackTLVs.rawValue == UInt16(NLM_F_ACK_TLVS))
        #expect(MulticastGroup.ipv4Route.rawValue == UInt32(RTNLGRP_IPV4_ROUTE.rawValue))
        #expect(MulticastGroup.xfrmSA.rawValue == UInt32(XFRMNLGRP_SA.rawValue))
    }

    @Test("encoded request bodies have the kernel's struct sizes")
    func bodySizes() {
        let a = IPAddress("192.0.2.1")!, b = IPAddress("192.0.2.2")!
        // No attributes: header + fixed struct only.
        #expect(XfrmState(source: a, destination: b, spi: 1).request(.delete).bytes.count == 16 + 24 + 20)
        #expect(XfrmPolicy(selector: XfrmSelector(), direction: .out).request(.add).bytes.count == 16 + 168)
        #expect(XfrmState(source: a, destination: b, spi: 1).request(.add).bytes.count == 16 + 224)
    }

    @Test("an ACK with extended-ack TLVs, built by hand")
    func extendedAck() throws {
        var w = ByteWriter()
        let text = Array("Nexthop has invalid gateway".utf8) + [0]
        let tlv = 4 + text.count, padded = (tlv + 3) & ~3
        w.u32(UInt32(16 + 4 + 16 + padded + 8)); w.u16(2); w.u16(0x300); w.u32(7); w.u32(99)  // NLMSG_ERROR, CAPPED|ACK_TLVS
        w.i32(-101)                                                                              // -ENETUNREACH
        w.u32(52); w.u16(24); w.u16(0x605); w.u32(7); w.u32(99)                                  // the request's header
        w.u16(UInt16(tlv)); w.u16(1); w.append(text); w.zeros(padded - tlv)                      // NLMSGERR_ATTR_MSG
        w.u16(8); w.u16(2); w.u32(20)                                                            // NLMSGERR_ATTR_OFFS
        let message = try #require(try Message.split(w.bytes).first)
        let error = try ErrorMessage(decoding: message)
        #expect(error.errno == 101 && error.request.type == .newRoute && error.request.sequence == 7)
        #expect(error.extAckMessage == "Nexthop has invalid gateway" && error.extAckOffset == 20)
    }

    @Test("addresses and prefixes parse and print", arguments: [
        ("192.0.2.1", "192.0.2.1"), ("2001:db8::1", "2001:db8::1"), ("::", "::"), ("203.0.113.255", "203.0.113.255"),
    ])
    func addresses(text: String, printed: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == printed)
        #expect(IPAddress(bytes: address.bytes[...]) == address)
    }

    @Test func invalidText() {
        #expect(IPAddress("192.0.2") == nil && IPAddress("hello") == nil)
        #expect(IPPrefix("192.0.2.0/33") == nil && IPPrefix("192.0.2.0/24") != nil)
        #expect(MACAddress("02:57:46:00:00") == nil && MACAddress("02:57:46:00:00:zz") == nil)
        #expect(MACAddress("02:57:46:00:00:01")?.description == "02:57:46:00:00:01")
    }
}

@Suite("secrets never print")
struct SecretTests {
    static let key = SecretBytes([0xde, 0xad, 0xbe, 0xef] + [UInt8](repeating: 0x5a, count: 32))

    func state() -> XfrmState {
        var state = XfrmState(source: IPAddress("192.0.2.1")!, destination: IPAddress("192.0.2.2")!, spi: 0x1001)
        state.aead = XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: Self.key, lengthBits: 128)
        return state
    }

    @Test("description, debugDescription, interpolation and dump() redact the key")
    func redacted() {
        var dumped = ""
        dump(state(), to: &dumped)
        for text in [String(describing: state()), String(reflecting: state()), "\(state())", dumped, "\(Self.key)"] {
            #expect(!text.lowercased().contains("deadbeef") && !text.contains("5a5a5a"))
        }
        #expect(Self.key.description == "<redacted>")
    }

    @Test("a failed request's error names the SA, never the key")
    func errorText() {
        let error = NetlinkError(operation: state().request(.add).summary, reason: .kernel(.noSuchProcess, message: nil))
        #expect(error.description == "add xfrm state src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1001: No such process (ESRCH)")
    }

    @Test("the key does reach the wire, once, where the kernel expects it")
    func onTheWire() {
        let bytes = state().request(.add).bytes
        let needle: [UInt8] = [0xde, 0xad, 0xbe, 0xef]
        let hits = (0...(bytes.count - 4)).filter { Array(bytes[$0..<$0 + 4]) == needle }
        #expect(hits.count == 1)
    }
}
