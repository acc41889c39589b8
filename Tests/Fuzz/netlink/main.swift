// libFuzzer target: netlink replies and events, as the kernel (or anyone who can write to
// the socket) sends them. Every decoder of a kernel object runs on every message the
// bytes split into (`decodeAsEveryKind`, shared with the robustness tests); any crash,
// trap or sanitizer report is a finding (scripts/fuzz).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetlink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let messages = try? Message.split(Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    messages.forEach(decodeAsEveryKind)
    return 0
}
