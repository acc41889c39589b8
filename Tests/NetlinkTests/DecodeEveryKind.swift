import Netlink

/// Runs every kernel-object decoder, and the event decoder of both families, on `message`,
/// ignoring what they throw: the robustness tests and the `netlink` fuzz target
/// (scripts/fuzz compiles this file into it) look only for crashes.
func decodeAsEveryKind(_ message: Message) {
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
