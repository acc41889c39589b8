import WeftModel

/// The weft_policy / weft_egress entries of one rule (`struct weft_policy_key` in
/// bpf/weft_maps.h, longest-prefix keys): both identities whole, then the protocol, then the
/// destination port's leading bits. A range becomes the fewest aligned port blocks that
/// cover it exactly (at most 30 for any 16-bit range), so a rule of any width costs a
/// handful of entries, not one per port.
enum PolicyKeys {
    static let prefixAny: UInt32 = 64, prefixProto: UInt32 = 80, prefixFull: UInt32 = 96
    /// IPPROTO_* of the rule's protocol word (`PolicyRule.protocols`).
    static let protocolNumbers: [String: UInt8] = ["any": 0, "icmp": 1, "tcp": 6, "udp": 17, "sctp": 132]
    /// The maps' max_entries (bpf/weft_maps.h).
    static let capacity = 262_144

    /// The aligned blocks covering `range` exactly: (first port, leading bits that match).
    static func blocks(_ range: ClosedRange<UInt16>) -> [(port: UInt16, bits: UInt32)] {
        var blocks: [(UInt16, UInt32)] = []
        var low = UInt32(range.lowerBound)
        let high = UInt32(range.upperBound)
        while low <= high {
            var size: UInt32 = 1 << 16, bits: UInt32 = 0
            while low % size != 0 || low + size - 1 > high { size >>= 1; bits += 1 }
            blocks.append((UInt16(low), bits))
            low += size
        }
        return blocks
    }

    /// The keys admitting what `rule` admits (a rule of a protocol word `validate()` refuses
    /// yields none: it admits nothing).
    static func keys(_ rule: PolicyRule) -> [[UInt8]] {
        guard let proto = protocolNumbers[rule.proto] else { return [] }
        let identities = le32(rule.source) + le32(rule.destination)
        guard proto != 0 else { return [le32(prefixAny) + identities + [0, 0, 0, 0]] }
        guard proto != 1, let ports = rule.ports else { return [le32(prefixProto) + identities + [proto, 0, 0, 0]] }
        return blocks(ports).map { block in
            le32(prefixProto + block.bits) + identities + [proto, 0, UInt8(block.port >> 8), UInt8(block.port & 0xff)]
        }
    }

    /// What the programs look up: one port, prefix 96.
    static func lookupKey(source: UInt32, destination: UInt32, proto: UInt8, port: UInt16) -> [UInt8] {
        le32(prefixFull) + le32(source) + le32(destination) + [proto, 0, UInt8(port >> 8), UInt8(port & 0xff)]
    }

    /// Does `entry` (a stored key) cover the full-length `key`: the same bits up to its prefix?
    static func covers(_ entry: [UInt8], _ key: [UInt8]) -> Bool {
        let bits = Int(u32le(entry, 0))
        guard entry.count == 16, key.count == 16 else { return false }
        for bit in 0..<bits where (entry[4 + bit / 8] ^ key[4 + bit / 8]) & (0x80 >> UInt8(bit % 8)) != 0 { return false }
        return true
    }

    /// A stored key as a rule reads: "257 -> 300 tcp/8000-8001", "anyone -> 300 any".
    static func describe(_ entry: [UInt8]) -> String {
        let bits = u32le(entry, 0), source = u32le(entry, 4), destination = u32le(entry, 8)
        func who(_ identity: UInt32) -> String { identity == PolicyRule.anySource ? "anyone" : "\(identity)" }
        let proto = protocolNumbers.first { $0.value == entry[12] }?.key ?? "proto \(entry[12])"
        let port = UInt32(entry[14]) << 8 | UInt32(entry[15])
        let what: String
        switch bits {
        case ..<prefixProto: what = "any"
        case prefixProto: what = "\(proto) (any port)"
        default:
            let last = port + (1 << (prefixFull - bits)) - 1
            what = last == port ? "\(proto)/\(port)" : "\(proto)/\(port)-\(last)"
        }
        return "\(who(source)) -> \(who(destination)) \(what)"
    }

    /// Every key of `rules`, refused whole when the map could not hold them.
    static func entries(_ rules: [PolicyRule], map: String) throws -> [[UInt8]: [UInt8]] {
        var entries: [[UInt8]: [UInt8]] = [:]
        for rule in rules { for key in keys(rule) { entries[key] = [1] } }
        guard entries.count <= capacity else {
            throw DesiredStateError("\(map): the rules need \(entries.count) entries, more than its \(capacity)")
        }
        return entries
    }

    private static func le32(_ v: UInt32) -> [UInt8] { TrustMapContents.hostOrder(v) }
}
