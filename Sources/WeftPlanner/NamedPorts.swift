import WeftModel

/// What a named port means at each identity: a NetworkPolicy port `http` resolves against
/// each destination pod's own container ports, but the datapath keys rules on identities,
/// which pods share. So a name resolves, for an identity, to the number every one of its
/// pods gives it (by name and protocol); where its pods disagree or one lacks it, to none:
/// the datapath admits less than the policy, never more. Pods of one identity share their
/// labels, hence in practice their template (a Deployment's `pod-template-hash`), hence
/// their ports.
struct NamedPorts: Sendable {
    struct Key: Hashable, Sendable {
        var name: String
        var proto: TransportProtocol
    }

    /// identity → key → number → how many of its pods give the key that number.
    private var counts: [UInt32: [Key: [UInt16: Int]]] = [:]
    private var podCounts: [UInt32: Int] = [:]
    /// key → identities at least one pod of which names it (the candidates for "any
    /// destination pod with this port").
    private var holders: [Key: Set<UInt32>] = [:]

    static func keys(of pod: PodSpec) -> [(Key, UInt16)] {
        pod.ports.compactMap { port in
            guard let name = port.name, let number = UInt16(exactly: port.containerPort), number != 0 else { return nil }
            return (Key(name: name, proto: port.protocol), number)
        }
    }

    /// Counts `pod` in (`delta` 1) or out (-1) of `identity`; true when what the identity's
    /// names resolve to changed.
    mutating func count(_ pod: PodSpec, identity: UInt32, _ delta: Int) -> Bool {
        let before = resolved(identity)
        podCounts[identity, default: 0] += delta
        for (key, number) in Self.keys(of: pod) {
            counts[identity, default: [:]][key, default: [:]][number, default: 0] += delta
            if counts[identity]?[key]?[number] == 0 { counts[identity]?[key]?[number] = nil }
            if counts[identity]?[key]?.isEmpty == true {
                counts[identity]?[key] = nil
                holders[key]?.remove(identity)
                if holders[key]?.isEmpty == true { holders[key] = nil }
            } else {
                holders[key, default: []].insert(identity)
            }
        }
        if podCounts[identity] == 0 { podCounts[identity] = nil; counts[identity] = nil }
        return resolved(identity) != before
    }

    /// Every name the identity resolves, with its number.
    func resolved(_ identity: UInt32) -> [Key: UInt16] {
        guard let pods = podCounts[identity], let keys = counts[identity] else { return [:] }
        return keys.compactMapValues { numbers in numbers.count == 1 && numbers.first?.value == pods ? numbers.first?.key : nil }
    }

    func resolve(_ key: Key, at identity: UInt32) -> UInt16? {
        guard let pods = podCounts[identity], let numbers = counts[identity]?[key], numbers.count == 1,
              let only = numbers.first, only.value == pods else { return nil }
        return only.key
    }

    /// The identities where `key` resolves.
    func identities(resolving key: Key) -> [UInt32] {
        (holders[key] ?? []).filter { resolve(key, at: $0) != nil }.sorted()
    }
}
