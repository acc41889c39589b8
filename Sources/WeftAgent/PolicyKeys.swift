import WeftModel

/// The weft_policy / weft_egress entries of one rule (`struct weft_policy_key` in
/// bpf/weft_maps.h, longest-prefix keys): both identities whole, then the protocol, then the
/// destination port's leading bits. A range becomes the fewest aligned port blocks that
/// cover it exactly (at most 30 for any 16-bit range), so a rule of any width costs a
/// handful of entries, not one per port.
enum PolicyKeys {
    static let prefixAny: UInt32 = 64, prefixProto: UInt32 = 80
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

    /// Every key of `rules`, refused whole when the map could not hold them.
    static func entries(_ rules: [PolicyRule], map: String) throws -> [[UInt8]: [UInt8]] {
        var entries: [[UInt8]: [UInt8]] = [:]
        for rule in rules { for key in keys(rule) { entries[key] = [1] } }
        guard entries.count <= capacity else {
            throw DesiredStateError("\(map): the rules need \(entries.count) entries, more than its \(capacity)")
        }
        return entries
    }

    private static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
}
