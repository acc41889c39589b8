import BPF
import Netlink
import WeftModel

/// The pods' filters (bpf/weft_pod_out.c, weft_pod_in.c): each pod veth's entry in
/// `weft_endpoints` and the two programs on its node end.
extension TrustFilters {
    /// `struct weft_endpoint`: the pod's address (be), its MAC, flags (le; bit 0 check the MAC).
    static func endpointValue(_ endpoint: PodEndpoint) throws -> [UInt8] {
        guard case .v4(let address) = endpoint.address else { throw DesiredStateError("\(endpoint.hostName): the pods' filters take IPv4 only") }
        return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: address >> $0) } + endpoint.mac.bytes + [1, 0]
    }

    static func endpointKey(_ hostIndex: Int32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: hostIndex) >> (8 * UInt32($0))) } }

    /// Makes the pod's entry hold `endpoint`, then attaches both pod programs to its node end
    /// (entry first: the out filter drops what it cannot vouch for). Returns the writes made.
    @discardableResult
    public func attachPod(_ endpoint: PodEndpoint, namespace: String?) throws -> Int {
        let map = try maps.map("weft_endpoints"), key = Self.endpointKey(endpoint.hostIndex), value = try Self.endpointValue(endpoint)
        var writes = 0
        if try map.lookup(key: key)?.first != value {
            try map.update(key: key, value: value)
            writes += 1
        }
        return writes + (try attach(where: { $0.device == .pod }, on: { _ in endpoint.hostIndex }, namespace: namespace))
    }

    /// Forgets a pod veth's entry (its programs went with the device). A missing one is no error.
    public func forgetPod(hostIndex: Int32) throws {
        let map = try maps.map("weft_endpoints"), key = Self.endpointKey(hostIndex)
        if try map.lookup(key: key) != nil { try map.delete(key: key) }
    }

    /// Brings every pod veth's filters and entry in line with `endpoints` (all the node has)
    /// and deletes entries of veths that are gone; returns the writes made.
    public func syncPods(_ endpoints: [PodEndpoint], namespace: String?) throws -> Int {
        var writes = 0
        for endpoint in endpoints { writes += try attachPod(endpoint, namespace: namespace) }
        let live = Set(endpoints.map { Self.endpointKey($0.hostIndex) })
        let map = try maps.map("weft_endpoints")
        for key in try map.keys() where !live.contains(key) {
            try map.delete(key: key)
            writes += 1
        }
        return writes
    }
}
