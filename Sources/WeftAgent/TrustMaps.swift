import BPF
import Foundation
import Netlink
import WeftModel

/// The contents of the eBPF trust maps (layouts: bpf/weft_maps.h) for one desired state,
/// as raw key → value bytes, so that syncing is a plain whole-map diff.
public struct TrustMapContents: Hashable, Sendable {
    public var maps: [String: [[UInt8]: [UInt8]]]

    static let enforcePolicy: UInt32 = 1 << 0, allowReplies: UInt32 = 1 << 1, enforceEgress: UInt32 = 1 << 2
    static let mustEncrypt: UInt32 = 1 << 0, quarantinedFlag: UInt32 = 1 << 1
    /// `WEFT_IDENTITY_HOST`: the node's own addresses, which the pods' filters always admit.
    public static let hostIdentity = PolicyRule.hostIdentity
    public static let names = ["weft_config", "weft_peers", "weft_vtep_macs", "weft_pod_cidrs", "weft_ipcache", "weft_cidrs", "weft_quarantine",
                               "weft_policy", "weft_egress"]

    public init(_ state: DesiredNodeState) throws {
        var maps = Dictionary(uniqueKeysWithValues: Self.names.map { ($0, [[UInt8]: [UInt8]]()) })
        let quarantined = Set(state.quarantined)
        // Each direction is enforced when it has rules; replies of tracked connections pass.
        let egress = state.egressPolicy ?? []
        var flags: UInt32 = state.policy.isEmpty ? 0 : Self.enforcePolicy | Self.allowReplies
        if !egress.isEmpty { flags |= Self.enforceEgress | Self.allowReplies }
        maps["weft_config"]![le32(0)] = be16(state.cluster.port) + [0, 0] + le32(Ownership.markTag) + le32(Ownership.markMask) + le32(flags)
        for (i, peer) in state.peers.enumerated() {
            guard case .v4(let underlay)? = IPAddress(peer.underlay) else { throw DesiredStateError("peers[\(i)].underlay: the filters take IPv4 only") }
            guard let mac = MACAddress(peer.vtepMAC) else { throw DesiredStateError("peers[\(i)].vtepMAC \"\(peer.vtepMAC)\" is not a MAC") }
            var peerFlags: UInt32 = quarantined.contains(peer.index) ? Self.quarantinedFlag : 0
            if peer.encrypt && state.cluster.encryption { peerFlags |= Self.mustEncrypt }
            maps["weft_peers"]![be32(underlay)] = le32(peer.index) + le32(peerFlags)
            maps["weft_vtep_macs"]![mac.bytes + [0, 0]] = le32(peer.index)
            for cidr in peer.podCIDRs {
                guard let prefix = IPPrefix(cidr), case .v4(let address) = prefix.address else { throw DesiredStateError("peers[\(i)].podCIDRs: \"\(cidr)\" is not an IPv4 prefix") }
                maps["weft_pod_cidrs"]![le32(UInt32(prefix.length)) + be32(address)] = le32(peer.index)
            }
        }
        for (i, entry) in state.ipcache.enumerated() {
            guard let prefix = IPPrefix(entry.cidr), case .v4(let address) = prefix.address else { throw DesiredStateError("ipcache[\(i)].cidr \"\(entry.cidr)\" is not an IPv4 prefix") }
            maps["weft_ipcache"]![le32(UInt32(prefix.length)) + be32(address)] = le32(entry.identity)
        }
        // The node itself (kubelet's probes come from one of these): after the controller's
        // entries, so that no pod entry can claim a node address.
        for address in [state.node.underlay, state.node.vtepAddress] {
            guard case .v4(let v4)? = IPAddress(address) else { continue }
            maps["weft_ipcache"]![le32(32) + be32(v4)] = le32(Self.hostIdentity)
        }
        for index in quarantined { maps["weft_quarantine"]![le32(index)] = [1] }
        for (i, entry) in (state.cidrs ?? []).enumerated() {
            guard let prefix = IPPrefix(entry.cidr), case .v4(let address) = prefix.address else { throw DesiredStateError("cidrs[\(i)].cidr \"\(entry.cidr)\" is not an IPv4 prefix") }
            maps["weft_cidrs"]![le32(UInt32(prefix.length)) + be32(address)] = le32(entry.identity)
        }
        maps["weft_policy"] = try PolicyKeys.entries(state.policy, map: "weft_policy")
        maps["weft_egress"] = try PolicyKeys.entries(egress, map: "weft_egress")
        self.maps = maps
    }
}

extension TrustMapContents {
    /// A `__u32` in host order (little-endian here), as every map value of Weft's.
    static func hostOrder(_ v: UInt32) -> [UInt8] { le32(v) }
    /// `struct weft_lpm_v4` of one address (/32).
    static func lpmKey(_ address: UInt32) -> [UInt8] { le32(32) + be32(address) }
}

private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
private func be32(_ v: UInt32) -> [UInt8] { le32(v).reversed() }
private func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }

/// The loaded trust filters: every `TrustProgram`'s object, their shared pinned maps, and
/// their tc attachments (uplink ingress, overlay device ingress and egress).
public final class TrustFilters: @unchecked Sendable {
    let objects: [(program: TrustProgram, object: BPFObject)]
    /// Pinned maps an older Weft left with another definition, unpinned and created anew
    /// at load (their contents start over): for the agent's log.
    public let replacedPins: [String]
    /// Pods weft-cni attached whose address the controller's ipcache may not hold yet.
    let localPods = LocalPodIdentities()

    /// Loads each program's object from `directory`, pinning (or reusing) their maps under
    /// `pinRoot`.
    public init(objects directory: String, pinRoot: String) throws {
        var objects: [(TrustProgram, BPFObject)] = [], replaced: [String] = []
        for program in TrustProgram.all {
            let loaded = try BPFObjectSpec(path: "\(directory)/\(program.object)", pinRoot: pinRoot).load()
            objects.append((program, loaded))
            replaced += loaded.replacedPins
        }
        self.objects = objects
        replacedPins = replaced
    }

    /// Every object declares every map (bpf/weft_maps.h), pinned once: any one reads them.
    var maps: BPFObject { objects[0].object }

    /// Attaches every program inside `namespace` at Weft's tc handle and priority on its
    /// device's hook, replacing Weft's older programs there in place and leaving identical
    /// ones alone, and moves Weft programs an earlier agent left at the legacy place;
    /// returns the number of attachments written. A filter that is not Weft's is never
    /// replaced or deleted (one at Weft's own place is refused with the reason).
    public func attach(uplinkIndex: Int32, overlayIndex: Int32, namespace: String?) throws -> Int {
        try attach(where: { $0.device != .pod }, on: { $0.device == .uplink ? uplinkIndex : overlayIndex }, namespace: namespace)
    }

    /// Attaches the programs `include` picks, each on the interface `index` names for it,
    /// inside `namespace`; returns the attachments written. The node's and the pods' share it.
    func attach(where include: (TrustProgram) -> Bool, on index: (TrustProgram) -> Int32, namespace: String?) throws -> Int {
        let targets = try objects.filter { include($0.program) }.map { program, object in
            (program, try object.programFD(program.function), index(program))
        }
        let attach: @Sendable () throws -> Int = {
            try targets.reduce(0) { writes, target in writes + (try Self.attach(target.1, program: target.0, on: target.2)) }
        }
        return try namespace.map { try NetworkNamespace.run(in: $0, attach) } ?? attach()
    }

    static func attach(_ programFD: Int32, program: TrustProgram, on ifindex: Int32) throws -> Int {
        var writes = try program.place(ifindex: ifindex).attach(programFD: programFD, replacingOnly: Ownership.isWeftProgram(kernelName:)) ? 1 : 0
        if let legacy = program.legacyPlace(ifindex: ifindex), let old = legacy.attachedProgram(), Ownership.isWeftProgram(kernelName: old.name) {
            try legacy.detach()
            writes += 1
        }
        return writes
    }

    /// Makes every trust map hold exactly `desired`; returns the number of map writes.
    /// (The reconciler calls `sync(_: DesiredNodeState)`, which keeps the local pods.)
    func sync(_ desired: TrustMapContents) throws -> Int {
        var writes = 0
        try desired.edits(observed: { try maps.map($0).entries() }) { name, edit in
            let map = try maps.map(name)
            switch edit {
            case .add(let key, let value), .update(let key, _, let value): try map.update(key: key, value: value)
            case .delete(let key, _): try map.delete(key: key)
            }
            writes += 1
        }
        return writes
    }

    public static let reasons = ["pass_uplink", "pass_overlay", "drop_unknown_source", "drop_quarantined", "drop_plaintext",
                                 "drop_spoofed_source", "drop_policy", "drop_unknown_sender", "drop_malformed", "pass_reply",
                                 "pass_pod_out", "pass_pod_in", "drop_unsupported", "drop_policy_egress"]

    /// Per-verdict counters summed over CPUs: reason → (packets, bytes).
    public func counters() throws -> [(reason: String, packets: UInt64, bytes: UInt64)] {
        try Self.counters(in: try maps.map("weft_counters"))
    }

    /// Reads `weft_counters` (`struct weft_counter { u64 packets; u64 bytes; }` per CPU).
    public static func counters(in map: BPFMap) throws -> [(reason: String, packets: UInt64, bytes: UInt64)] {
        try reasons.enumerated().map { index, reason in
            let perCPU = try map.lookup(key: le32(UInt32(index))) ?? []
            let packets = perCPU.reduce(UInt64(0)) { $0 + u64($1, 0) }, bytes = perCPU.reduce(UInt64(0)) { $0 + u64($1, 8) }
            return (reason, packets, bytes)
        }
    }
}

func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
}
