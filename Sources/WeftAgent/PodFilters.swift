import BPF
import Netlink
import WeftModel

/// The pods' filters (bpf/weft_pod_out.c, weft_pod_in.c): each pod veth's entries in
/// `weft_endpoints` and `weft_pod_counters`, and the two programs on its node end.
extension TrustFilters {
    /// `struct weft_endpoint`: the pod's address (be), its MAC, flags (le; bit 0 check the MAC).
    static func endpointValue(_ endpoint: PodEndpoint) throws -> [UInt8] {
        guard case .v4(let address) = endpoint.address else { throw DesiredStateError("\(endpoint.hostName): the pods' filters take IPv4 only") }
        return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: address >> $0) } + endpoint.mac.bytes + [1, 0]
    }

    static func endpointKey(_ hostIndex: Int32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: hostIndex) >> (8 * UInt32($0))) } }

    /// Makes the pod's entry hold `endpoint` and gives it a counters entry (zeroed; an
    /// existing one keeps counting), then attaches both pod programs to its node end
    /// (entries first: the out filter drops what it cannot vouch for). Returns the writes made.
    @discardableResult
    public func attachPod(_ endpoint: PodEndpoint, namespace: String?) throws -> Int {
        let map = try maps.map("weft_endpoints"), key = Self.endpointKey(endpoint.hostIndex), value = try Self.endpointValue(endpoint)
        var writes = 0
        if try map.lookup(key: key)?.first != value {
            try map.update(key: key, value: value)
            writes += 1
        }
        let counters = try maps.map("weft_pod_counters")
        if try counters.lookup(key: key) == nil {
            try counters.update(key: key, value: [UInt8](repeating: 0, count: counters.valueSize))
            writes += 1
        }
        return writes + (try attach(where: { $0.device == .pod }, on: { _ in endpoint.hostIndex }, namespace: namespace))
    }

    /// Forgets a pod veth's entries (its programs went with the device). Missing ones are no error.
    public func forgetPod(hostIndex: Int32) throws {
        let key = Self.endpointKey(hostIndex)
        for name in ["weft_endpoints", "weft_pod_counters"] {
            let map = try maps.map(name)
            if try map.lookup(key: key) != nil { try map.delete(key: key) }
        }
    }

    /// Each pod veth's counters (by the ifindex of its node end), reason by reason.
    public static func podCounters(in map: BPFMap) throws -> [Int32: [(reason: String, packets: UInt64, bytes: UInt64)]] {
        var pods: [Int32: [(reason: String, packets: UInt64, bytes: UInt64)]] = [:]
        for (key, value) in try map.entries() where key.count == 4 {
            let index = Int32(bitPattern: u32le(key, 0))
            pods[index] = reasons.enumerated().map { slot, reason in (reason, u64(value, slot * 16), u64(value, slot * 16 + 8)) }
        }
        return pods
    }

    /// Brings every pod veth's filters and entry in line with `endpoints` (all the node has)
    /// and deletes entries of veths that are gone; returns the writes made.
    public func syncPods(_ endpoints: [PodEndpoint], namespace: String?) throws -> Int {
        var writes = 0
        for endpoint in endpoints { writes += try attachPod(endpoint, namespace: namespace) }
        let live = Set(endpoints.map { Self.endpointKey($0.hostIndex) })
        for name in ["weft_endpoints", "weft_pod_counters"] {
            let map = try maps.map(name)
            for key in try map.keys() where !live.contains(key) {
                try map.delete(key: key)
                writes += 1
            }
        }
        return writes
    }
}
