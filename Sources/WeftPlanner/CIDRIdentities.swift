import WeftModel

/// The policies' ipBlock prefixes, each with a CIDR identity: the datapath's `weft_cidrs`
/// maps every address to the identity of the longest of them that holds it, pods'
/// addresses included (ipBlock matches by address, as `PolicyEvaluator` does).
///
/// A block `cidr` minus `except` then admits the identities of every prefix of the table
/// inside `cidr` and inside none of its excepts. That is exact: for an address `a`, the
/// longest prefix P holding it lies inside `cidr` when `a` does (both hold `a`, so they
/// nest, and P is the longest), and inside an except `e` exactly when `a` is in `e`.
///
/// Numbers follow the prefixes' order from `first` on, so the same policies always give
/// the same table; they change only when the policies do, and then the planner rebuilds.
struct CIDRIdentities: Sendable {
    /// Above every pod identity the controller can hand out (they count up from 256).
    static let first: UInt32 = 0x0100_0000

    let identities: [IPv4Prefix: UInt32]

    init(_ policies: [CompiledPolicy]) {
        var prefixes: Set<IPv4Prefix> = []
        for policy in policies {
            for rule in policy.ingress + policy.egress {
                for case .block(let cidr, let except) in rule.peers { prefixes.formUnion(([cidr] + except).map(Self.canonical)) }
            }
        }
        let sorted = prefixes.sorted { ($0.address, $0.length) < ($1.address, $1.length) }
        identities = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, Self.first + UInt32($0)) })
    }

    static func canonical(_ prefix: IPv4Prefix) -> IPv4Prefix { IPv4Prefix(prefix.first, prefix.length) }

    func isCIDR(_ identity: UInt32) -> Bool { identity >= Self.first && identity - Self.first < UInt32(identities.count) }

    /// The identities `cidr` minus `except` admits.
    func admitted(by cidr: IPv4Prefix, except: [IPv4Prefix]) -> [UInt32] {
        let block = Self.canonical(cidr), excepts = except.map(Self.canonical)
        func inside(_ p: IPv4Prefix, _ outer: IPv4Prefix) -> Bool { p.length >= outer.length && outer.contains(p.address) }
        return identities.filter { prefix, _ in inside(prefix, block) && !excepts.contains { inside(prefix, $0) } }.map(\.value).sorted()
    }

    /// The table as the desired state carries it, by address.
    var entries: [IPCacheEntry] {
        identities.sorted { ($0.key.address, $0.key.length) < ($1.key.address, $1.key.length) }
            .map { IPCacheEntry(cidr: $0.key.description, identity: $0.value) }
    }
}

