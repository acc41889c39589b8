import BPF
import Synchronization
import WeftModel

/// A new pod's identity from its first packet: weft-cni ADD hands out the address, so the
/// controller learns it (from the API) only after the ADD returns. Until its ipcache has
/// the address, the agent keeps the pod's own entry in `weft_ipcache`, with the identity
/// the desired state's `podIdentities` names for the pod; once the controller's ipcache has
/// the address, its entry takes precedence (a relabelled pod's new identity). Forgotten at
/// DEL, a failed ADD and GC. Kept in memory: an agent
/// restarted inside that window leaves the pod at identity 0 (its policy denies more, never
/// less) until the controller's entry arrives.
final class LocalPodIdentities: Sendable {
    /// IPv4 address (host order) → "namespace/name"; the lock also orders every sync of
    /// the maps against an ADD's own write, so a sync never deletes an entry just written.
    let pods = Mutex<[UInt32: String]>([:])
}

extension TrustMapContents {
    /// Adds the local pods' entries for addresses the controller's ipcache does not hold yet.
    mutating func addLocalPods(_ pods: [UInt32: String], state: DesiredNodeState) {
        for (address, pod) in pods {
            let key = Self.lpmKey(address)
            guard maps["weft_ipcache"]?[key] == nil, let identity = state.podIdentities?[pod] else { continue }
            maps["weft_ipcache"]![key] = Self.hostOrder(identity)
        }
    }
}

extension TrustFilters {
    /// Makes every map hold exactly what `state` (and the pods attached since the
    /// controller last wrote its ipcache) asks; returns the number of map writes.
    public func sync(_ state: DesiredNodeState) throws -> Int {
        try localPods.pods.withLock { pods in
            var desired = try TrustMapContents(state)
            desired.addLocalPods(pods, state: state)
            return try sync(desired)
        }
    }

    /// Gives a new pod's address its identity in `weft_ipcache` now (before the pod can send)
    /// and keeps it there until the controller's ipcache has the address.
    public func admitPod(_ address: UInt32, pod: String, identity: UInt32) throws {
        try localPods.pods.withLock { pods in
            pods[address] = pod
            try maps.map("weft_ipcache").update(key: TrustMapContents.lpmKey(address), value: TrustMapContents.hostOrder(identity))
        }
    }

    /// The pod is gone (DEL) or never came up (a failed ADD): its own entry goes; a
    /// controller's entry for the address comes back with the next sync.
    public func forgetPodIdentity(_ address: UInt32) throws {
        try localPods.pods.withLock { pods in
            guard pods.removeValue(forKey: address) != nil else { return }
            let map = try maps.map("weft_ipcache"), key = TrustMapContents.lpmKey(address)
            if try map.lookup(key: key) != nil { try map.delete(key: key) }
        }
    }
}
