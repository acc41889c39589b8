/// How large the overlay MTU may be on a given uplink. A pod's full-size packet grows by
/// the VXLAN encapsulation and, when encrypted, by ESP; if the result exceeds the uplink's
/// MTU it is fragmented or (with DF set, as TCP sets it) dropped: a black hole that shows
/// only under load. So the agent refuses a desired state whose `node.mtu` does not fit.
public enum OverlayMTU {
    /// Outer IPv4 (20) + UDP (8) + VXLAN (8) + the inner Ethernet header (14).
    public static let vxlanOverIPv4 = 50
    /// The same with an outer IPv6 header (40).
    public static let vxlanOverIPv6 = 70
    /// Transport-mode ESP with `rfc4106(gcm(aes))`: header (SPI, sequence: 8) + IV (8) +
    /// trailer (pad length, next header: 2) + padding to a 4-byte boundary (at most 3) +
    /// ICV (16).
    public static let espGCM = 37

    /// The largest overlay MTU that fits `uplinkMTU`, and how it was computed.
    public static func maximum(uplinkMTU: UInt32, ipv6Underlay: Bool, encrypted: Bool) -> (mtu: Int, arithmetic: String) {
        let vxlan = ipv6Underlay ? vxlanOverIPv6 : vxlanOverIPv4
        let esp = encrypted ? espGCM : 0
        let mtu = Int(uplinkMTU) - vxlan - esp
        let arithmetic = "\(uplinkMTU) - \(vxlan) (VXLAN over IPv\(ipv6Underlay ? 6 : 4))" + (encrypted ? " - \(esp) (ESP)" : "") + " = \(mtu)"
        return (mtu, arithmetic)
    }

    /// nil when `state.node.mtu` fits, else the reason naming the numbers.
    public static func problem(_ state: DesiredNodeState, uplinkMTU: UInt32) -> String? {
        let encrypted = state.cluster.encryption && state.peers.contains(where: \.encrypt)
        let limit = maximum(uplinkMTU: uplinkMTU, ipv6Underlay: state.node.underlay.contains(":"), encrypted: encrypted)
        guard Int(state.node.mtu) > limit.mtu else { return nil }
        return "node.mtu \(state.node.mtu) does not fit uplink \(state.node.uplink): \(limit.arithmetic)"
    }
}
