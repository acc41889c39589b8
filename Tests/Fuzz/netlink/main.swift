// libFuzzer target: netlink replies and events, as the kernel (or anyone who can write to
// the socket) sends them. Every decoder of a kernel object runs on every message the
// bytes split into; any crash, trap or sanitizer report is a finding (scripts/fuzz).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetlink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let messages = try? Message.split(bytes) else { return 0 }
    for message in messages {
        _ = try? Link(decoding: message)
        _ = try? Address(decoding: message)
        _ = try? Neighbour(decoding: message)
        _ = try? FDBEntry(decoding: message)
        _ = try? Route(decoding: message)
        _ = try? Nexthop(decoding: message)
        _ = try? XfrmState(decoding: message)
        _ = try? XfrmPolicy(decoding: message)
        _ = try? XfrmExpire(decoding: message)
        _ = try? ErrorMessage(decoding: message)
        _ = try? NetlinkEvent(decoding: message, family: .route)
        _ = try? NetlinkEvent(decoding: message, family: .xfrm)
    }
    return 0
}
