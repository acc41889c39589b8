/// One node's desired state: everything its agent needs to program the kernel, and
/// nothing it does not (no other node's keys, no controller secrets). JSON, documented
/// in docs/desired-state.md.
///
/// Versioning: `version` is "MAJOR.MINOR". An agent accepts any minor version of a major
/// it knows (fields it does not know are ignored, as JSONDecoder does) and refuses
/// another major with an error naming both versions.
public struct DesiredNodeState: Codable, Hashable, Sendable {
    public static let supportedMajor = 1
    public static let currentVersion = "1.4"

    public var version: String
    /// Increases with every change the controller makes; the agent acknowledges it.
    public var revision: UInt64
    public var cluster: ClusterSettings
    public var node: NodeSettings
    public var peers: [Peer]
    /// Pod address or prefix → numeric identity.
    public var ipcache: [IPCacheEntry]
    /// Compiled trust policy: allowed (source identity, destination identity, protocol, port).
    public var policy: [PolicyRule]
    /// Compiled egress policy (1.3): what each local identity (`source`) may send to
    /// (`destination`, or `PolicyRule.anySource` for anyone). nil or empty: egress not enforced.
    public var egressPolicy: [PolicyRule]?
    /// The policies' ipBlock prefixes → CIDR identity (1.4): the identity the rules name
    /// for any address in the prefix, pod or not, that no longer prefix here holds.
    /// nil or empty: no rule of this node names an ipBlock.
    public var cidrs: [IPCacheEntry]?
    /// "namespace/name" → identity of every pod the controller places on this node (1.4),
    /// with or without an address: weft-cni ADD gives a new pod's address its identity in
    /// the node's maps before the pod can send, as the controller learns the address only
    /// after the ADD. Empty: no pod is placed here (yet). nil: a controller before 1.4 or a
    /// hand-written document (ADD then does not wait for an identity).
    public var podIdentities: [String: UInt32]?
    /// Node indexes whose traffic every filter drops (revoked nodes).
    public var quarantined: [UInt32]

    public init(revision: UInt64, cluster: ClusterSettings, node: NodeSettings, peers: [Peer] = [],
                ipcache: [IPCacheEntry] = [], policy: [PolicyRule] = [], egressPolicy: [PolicyRule]? = nil, cidrs: [IPCacheEntry]? = nil,
                quarantined: [UInt32] = []) {
        version = Self.currentVersion
        self.revision = revision
        self.cluster = cluster
        self.node = node
        self.peers = peers
        self.ipcache = ipcache
        self.policy = policy
        self.egressPolicy = egressPolicy
        self.cidrs = cidrs
        self.quarantined = quarantined
    }
}

public struct ClusterSettings: Codable, Hashable, Sendable {
    public var id: String
    /// VXLAN network identifier of the overlay.
    public var vni: UInt32
    /// VXLAN UDP destination port (IANA: 4789).
    public var port: UInt16
    /// Whether peers must encrypt (ESP) their overlay traffic.
    public var encryption: Bool
    /// Packet and byte limits of every SA (1.1; absent: `SALimits.default`).
    public var saLimits: SALimits?

    public init(id: String, vni: UInt32, port: UInt16 = 4789, encryption: Bool, saLimits: SALimits? = nil) {
        self.id = id
        self.vni = vni
        self.port = port
        self.encryption = encryption
        self.saLimits = saLimits
    }
}

/// When an SA must be replaced. At the soft limit the kernel reports an expiry (the agent
/// passes it on so the controller rotates); at the hard limit the kernel deletes the SA.
/// Without extended sequence numbers the ESP sequence counter is 32 bits and must never
/// wrap (it is half of the GCM nonce), so the default hard limit stays below 2^32.
public struct SALimits: Codable, Hashable, Sendable {
    public var softPackets: UInt64
    public var hardPackets: UInt64
    /// nil: no byte limit.
    public var softBytes: UInt64?
    public var hardBytes: UInt64?

    /// Soft at 2^31 packets, hard at 2^32 - 2^16: days of line rate before rotation is due.
    public static let `default` = SALimits(softPackets: 1 << 31, hardPackets: (1 << 32) - (1 << 16))

    public init(softPackets: UInt64, hardPackets: UInt64, softBytes: UInt64? = nil, hardBytes: UInt64? = nil) {
        self.softPackets = softPackets
        self.hardPackets = hardPackets
        self.softBytes = softBytes
        self.hardBytes = hardBytes
    }
}

public struct NodeSettings: Codable, Hashable, Sendable {
    public var name: String
    /// The node's small integer index in the cluster (marks, nexthop ids, BPF maps).
    public var index: UInt32
    /// Underlay address (on `uplink`): VXLAN's local address.
    public var underlay: String
    public var uplink: String
    /// The overlay device's name (default "weft0").
    public var device: String
    public var vtepMAC: String
    /// This node's address on the overlay device (its pod CIDR's first address, as Flannel).
    public var vtepAddress: String
    public var podCIDR: String
    public var mtu: UInt32
    /// Changes whenever this node's SAs may have been lost (reboot, state reset); part of
    /// the key derivation so a re-installed SA never reuses a key. Optional (1.0 minor).
    public var incarnation: String?

    public init(name: String, index: UInt32, underlay: String, uplink: String, device: String = "weft0",
                vtepMAC: String, vtepAddress: String, podCIDR: String, mtu: UInt32) {
        self.name = name
        self.index = index
        self.underlay = underlay
        self.uplink = uplink
        self.device = device
        self.vtepMAC = vtepMAC
        self.vtepAddress = vtepAddress
        self.podCIDR = podCIDR
        self.mtu = mtu
    }
}

public struct Peer: Codable, Hashable, Sendable {
    public var name: String
    public var index: UInt32
    public var underlay: String
    public var vtepMAC: String
    public var vtepAddress: String
    public var podCIDRs: [String]
    /// Must this peer's overlay traffic arrive encrypted?
    public var encrypt: Bool
    /// The SA plan per direction (absent when encryption is off).
    public var outbound: SAPlan?
    public var inbound: SAPlan?
    /// Rotation (1.1), make-before-break. `inboundNext`: the next epoch's inbound SA,
    /// installed beside `inbound` so the peer can switch to it. `outboundNext`: the next
    /// epoch's outbound SA; this node switches to it only once its `ready` says the peer
    /// has installed the matching inbound SA, and until the controller then makes it
    /// `outbound`, the old outbound SA is removed and the new one carries the traffic.
    public var inboundNext: SAPlan?
    public var outboundNext: SAPlan?
    /// The peer's certified P-256 key-agreement public key (base64 X9.63), for ECDH.
    public var keyAgreementPublicKey: String?
    /// The peer's incarnation (see `NodeSettings.incarnation`).
    public var incarnation: String?

    public init(name: String, index: UInt32, underlay: String, vtepMAC: String, vtepAddress: String,
                podCIDRs: [String], encrypt: Bool = false, outbound: SAPlan? = nil, inbound: SAPlan? = nil,
                keyAgreementPublicKey: String? = nil) {
        self.name = name
        self.index = index
        self.underlay = underlay
        self.vtepMAC = vtepMAC
        self.vtepAddress = vtepAddress
        self.podCIDRs = podCIDRs
        self.encrypt = encrypt
        self.outbound = outbound
        self.inbound = inbound
        self.keyAgreementPublicKey = keyAgreementPublicKey
    }
}

/// Which SA exists for one direction of one pair: its SPI and key epoch. Keys are derived
/// on the nodes, never carried here.
public struct SAPlan: Codable, Hashable, Sendable {
    public var spi: UInt32
    public var epoch: UInt32
    /// Only on `outboundNext`: the peer has acknowledged installing the inbound SA.
    public var ready: Bool?

    public init(spi: UInt32, epoch: UInt32, ready: Bool? = nil) {
        self.spi = spi
        self.epoch = epoch
        self.ready = ready
    }
}

extension Peer {
    /// The outbound SA to use now: `outboundNext` once the peer is ready for it.
    public var activeOutbound: SAPlan? {
        if let next = outboundNext, next.ready == true { return next }
        return outbound
    }

    /// Every inbound SA to keep installed: the current one and the next epoch's.
    public var activeInbound: [SAPlan] {
        [inbound, inboundNext].compactMap { $0 }
    }
}

public struct IPCacheEntry: Codable, Hashable, Sendable {
    public var cidr: String
    public var identity: UInt32

    public init(cidr: String, identity: UInt32) {
        self.cidr = cidr
        self.identity = identity
    }
}

public struct PolicyRule: Codable, Hashable, Sendable {
    /// `source` value meaning "any sender, known or not": the rule a node carries for a
    /// pod that no policy selects, on a node where policy is enforced. In `egressPolicy`
    /// the same value as `destination` means "any receiver".
    public static let anySource = UInt32.max
    /// `WEFT_IDENTITY_HOST`: the node's own addresses in its maps; never a pod's identity.
    public static let hostIdentity = UInt32.max - 1
    /// The rule a node carries in a direction it enforces: from the node to the node, which
    /// no filter ever judges, so it admits nothing. It makes "enforced, nothing allowed" (a
    /// default-deny policy selecting every local pod) a non-empty list, which every agent
    /// (an empty list meaning "not enforced" since 1.0) enforces.
    public static let enforced = PolicyRule(source: hostIdentity, destination: hostIdentity, proto: "any")
    /// The protocol words a rule can carry ("any": every protocol, and then no port).
    public static let protocols = ["tcp", "udp", "sctp", "icmp", "any"]

    public var source: UInt32
    public var destination: UInt32
    /// One of `protocols` ("sctp": 1.4).
    public var proto: String
    /// 0 = any port; with `portEnd`, the first port of a range.
    public var port: UInt16
    /// The last port of the range `port`...`portEnd` (1.4); nil: `port` alone. An agent
    /// before 1.4 reads only `port`, so it admits less than the rule, never more.
    public var portEnd: UInt16?

    public init(source: UInt32, destination: UInt32, proto: String, port: UInt16 = 0, portEnd: UInt16? = nil) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.port = port
        self.portEnd = portEnd
    }

    /// The ports the rule covers (nil: any).
    public var ports: ClosedRange<UInt16>? {
        guard port != 0 else { return nil }
        return port...max(port, portEnd ?? port)
    }
}
