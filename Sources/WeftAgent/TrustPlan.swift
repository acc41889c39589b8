import BPF
import Foundation
import Netlink
import WeftModel

extension TrustMapContents {
    /// The writes that make the maps hold exactly these contents, given what each holds now
    /// (`observed(name)`): one `KeyedDiff` per map, in `names` order, additions and updates
    /// before deletions; the array map weft_config is overwritten, never deleted. The same
    /// edits are written by `TrustFilters.sync` and listed by `TrustPlan`.
    func edits(observed: (String) throws -> [[UInt8]: [UInt8]],
               _ body: (String, KeyedDiff<[UInt8], [UInt8]>.Edit) throws -> Void) throws {
        for name in Self.names {
            let diff = KeyedDiff(desired: maps[name] ?? [:], observed: try observed(name), order: { $0.lexicographicallyPrecedes($1) })
            for edit in diff.upserts { try body(name, edit) }
            for edit in diff.deletes where name != "weft_config" { try body(name, edit) }
        }
    }
}

/// A dry run of the trust filters' step: the map entries a reconcile would write, against
/// the maps pinned under `pinRoot` (none pinned yet: every entry is an addition), and the
/// tc filters it would attach at Weft's place or move from the legacy one. Reads only.
public enum TrustPlan {
    /// `devices`: the uplink's and the overlay device's names and indexes (nil: not there yet).
    public static func changes(_ state: DesiredNodeState, pinRoot: String, devices: [TrustProgram.Device: (name: String, index: Int32?)],
                               namespace: String?) throws -> (changes: [Change], refused: [RefusedChange]) {
        var changes: [Change] = []
        try TrustMapContents(state).edits(observed: { try pinnedEntries("\(pinRoot)/\($0)") }) { name, edit in
            changes.append(change(map: name, edit))
        }
        typealias Attached = (id: UInt32, name: String)
        let targets = TrustProgram.node.map { ($0, devices[$0.device]?.name ?? "?", devices[$0.device]?.index) }
        let query: @Sendable () -> [(TrustProgram, String, Attached?, Attached?)] = {
            targets.map { program, dev, index in
                guard let index else { return (program, dev, nil, nil) }
                return (program, dev, program.place(ifindex: index).attachedProgram(), program.legacyPlace(ifindex: index)?.attachedProgram())
            }
        }
        var refused: [RefusedChange] = []
        for (program, dev, present, legacy) in try namespace.map({ try NetworkNamespace.run(in: $0, query) }) ?? query() {
            let attach = Change(.add, .tcFilter, "\(dev) \(program.hook)",
                                detail: "\(program.function) pref \(Ownership.tcPriority) handle 0x\(String(Ownership.tcHandle, radix: 16))")
            if let present, !Ownership.isWeftProgram(kernelName: present.name) {
                refused.append(RefusedChange(change: attach, reason: "Weft's place holds program \(present.name) (id \(present.id)), which is not Weft's"))
            } else if present == nil {
                changes.append(attach)
            }
            if let legacy, Ownership.isWeftProgram(kernelName: legacy.name) {
                changes.append(Change(.delete, .tcFilter, "\(dev) \(program.hook)", detail: "\(legacy.name) pref 1 handle 0x1 (an earlier agent's place)"))
            }
        }
        return (changes, refused)
    }

    /// A pinned map's entries; none when it is not pinned (the filters were never loaded).
    static func pinnedEntries(_ path: String) throws -> [[UInt8]: [UInt8]] {
        do { return try BPFMap.openPinned(path).entries() } catch let error as BPFError where error.errno == ENOENT { return [:] }
    }

    static func change(map: String, _ edit: KeyedDiff<[UInt8], [UInt8]>.Edit) -> Change {
        func hex(_ bytes: [UInt8]) -> String { "0x" + bytes.map { String(format: "%02x", $0) }.joined() }
        switch edit {
        case .add(let key, let value): return Change(.add, .mapEntry, "\(map) key \(hex(key))", detail: "value \(hex(value))")
        case .update(let key, _, let value): return Change(.replace, .mapEntry, "\(map) key \(hex(key))", detail: "value \(hex(value))")
        case .delete(let key, _): return Change(.delete, .mapEntry, "\(map) key \(hex(key))")
        }
    }
}
