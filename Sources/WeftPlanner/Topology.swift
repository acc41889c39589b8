import WeftModel

/// Nodes as the overlay sees them: index, VTEP MAC and address, MTU, and the peer list
/// every node shares (minus itself).
struct Topology: Sendable {
    struct Node: Sendable {
        var name: String
        var index: UInt32
        var settings: NodeSettings
        var peer: Peer
    }

    var nodes: [String: Node] = [:]
    /// Active nodes (joined, not revoked), sorted by name: the shared peer list.
    var active: [Node] = []
    var clusterSettings: ClusterSettings
    var quarantined: [UInt32]
    let encryption: Bool
    private var activeNames: Set<String> = []

    /// VTEP MACs come from the node index: locally administered, unique, and the same after
    /// a restart (the index is allocated once).
    static func vtepMAC(index: UInt32) -> String {
        "02:57:46:00:" + [index >> 8 & 0xff, index & 0xff].map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
    }

    init(spec: ClusterSpec, allocations: inout Allocations, credentials: [String: NodeCredentials]) throws(PlanError) {
        encryption = spec.encryption.enabled
        clusterSettings = ClusterSettings(id: spec.cluster.id, vni: spec.cluster.vni, port: spec.cluster.port, encryption: encryption)
        let mtu = OverlayMTU.maximum(uplinkMTU: spec.cluster.underlayMTU, ipv6Underlay: false, encrypted: encryption).mtu
        let revoked = Set(spec.revoked)
        let sorted = spec.nodes.sorted(by: { $0.name < $1.name })
        try allocations.allocateNodeIndexes(for: sorted.map(\.name))
        for node in sorted {
            let index = allocations.nodeIndexes[node.name]!
            let cidr = IPv4Prefix(node.podCIDR)!  // validated
            let mac = Self.vtepMAC(index: index)
            let vtep = cidr.first.description
            let settings = NodeSettings(name: node.name, index: index, underlay: node.underlay, uplink: node.uplink ?? spec.cluster.uplink,
                                        vtepMAC: mac, vtepAddress: vtep, podCIDR: node.podCIDR, mtu: UInt32(mtu))
            var peer = Peer(name: node.name, index: index, underlay: node.underlay, vtepMAC: mac, vtepAddress: vtep,
                            podCIDRs: [node.podCIDR], encrypt: encryption)
            if let credential = credentials[node.name] {
                peer.keyAgreementPublicKey = credential.keyAgreementPublicKey
                peer.incarnation = credential.incarnation
            }
            let entry = Node(name: node.name, index: index, settings: settings, peer: peer)
            nodes[node.name] = entry
            if !revoked.contains(node.name) && (credentials[node.name] != nil || !encryption) {
                active.append(entry)
                activeNames.insert(node.name)
            }
        }
        quarantined = spec.revoked.compactMap { allocations.nodeIndexes[$0] }.sorted()
    }

    func isActive(_ name: String) -> Bool { activeNames.contains(name) }

    /// Every other active node, with the SA plans of this pair when encrypting.
    func peers(of me: Node, rotation: RotationState) -> [Peer] {
        active.filter { $0.name != me.name }.map { peer($0, of: me, rotation: rotation) }
    }

    /// `other` as `me` sees it: its shared row, with the SA plans of the pair.
    func peer(_ other: Node, of me: Node, rotation: RotationState) -> Peer {
        var peer = other.peer
        if encryption {
            let plans = rotation.plans(me: me.name, meIndex: me.index, peer: other.name, peerIndex: other.index)
            peer.outbound = plans.outbound
            peer.outboundNext = plans.outboundNext
            peer.inbound = plans.inbound
            peer.inboundNext = plans.inboundNext
        }
        return peer
    }
}
