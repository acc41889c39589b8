import Netlink

/// What an XFRM expire event means for Weft: which peer's SA, which direction, soft or
/// hard. At the soft limit the SA still works and the agent reports it so the controller
/// starts a rotation; at the hard limit the kernel has deleted the SA, and only a new epoch
/// brings that direction back (`SALedger` refuses the old key).
public struct SAExpiry: Hashable, Sendable, CustomStringConvertible {
    public enum Direction: String, Sendable { case outbound, inbound }

    public var peerIndex: UInt32
    public var direction: Direction
    public var spi: UInt32
    public var hard: Bool

    /// nil when the SA is not Weft's.
    public init?(_ event: XfrmExpire, localUnderlay: IPAddress?) {
        guard Ownership.isWeft(reqid: event.state.reqid) else { return nil }
        peerIndex = event.state.reqid & 0xffff
        direction = event.state.source == localUnderlay ? .outbound : .inbound
        spi = event.state.spi
        hard = event.hard
    }

    public var description: String {
        "\(hard ? "hard" : "soft") limit reached: \(direction) SA spi 0x\(String(spi, radix: 16)) of peer \(peerIndex)"
    }
}
