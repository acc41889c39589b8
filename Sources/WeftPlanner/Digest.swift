/// A cheap, incrementally maintained summary of one node's own sections (ipcache, pod
/// identities and rules), used to tell exactly which nodes a change touched without recomputing their
/// documents: ipcache members are summed as mixed 64-bit values (order-free, so adding or
/// removing one member is O(1)); the rules are hashed whole when they can have changed.
/// It never leaves the process; a collision (two different contents, one digest) would
/// only cost a missed delta, and splitmix64 over (address, identity) makes that a 2^-64
/// event for honest inputs.
struct NodeDigest: Hashable, Sendable {
    var memberSum: UInt64 = 0
    var memberCount = 0
    var rules = 0
    /// The node's pods and their identities (`podIdentities`), summed the same way.
    var podSum: UInt64 = 0

    static func mix(_ address: IPv4, _ identity: UInt32) -> UInt64 {
        mix(UInt64(address.value) << 32 | UInt64(identity))
    }

    /// A pod by name: FNV-1a of "namespace/name", then mixed with its identity.
    static func mix(pod: String, _ identity: UInt32) -> UInt64 {
        let name = pod.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return mix(name ^ (UInt64(identity) &* 0x9E37_79B9))
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = z &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func add(_ address: IPv4, _ identity: UInt32) {
        memberSum &+= Self.mix(address, identity)
        memberCount += 1
    }

    mutating func add(pod: String, _ identity: UInt32) { podSum &+= Self.mix(pod: pod, identity) }
    mutating func remove(pod: String, _ identity: UInt32) { podSum &-= Self.mix(pod: pod, identity) }

    mutating func remove(_ address: IPv4, _ identity: UInt32) {
        memberSum &-= Self.mix(address, identity)
        memberCount -= 1
    }
}
