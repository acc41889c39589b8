import BPF
import Foundation
import Netlink
import WeftAgent

extension WeftCtl {
    /// `weftctl bpf [pin-root DIR]`: which Weft filters are attached where (tc ingress and
    /// egress at Weft's handle and priority, 0x5746, on the node's devices and every pod
    /// veth), how many entries each trust map, the pods' entries and the connection table
    /// hold, and the per-verdict counters summed over CPUs.
    func showBPF() throws {
        try invocation.allowOnly(["pin-root"])
        let root = try invocation.value(after: "pin-root") ?? Ownership.bpfPinRoot
        let links = try routeSocket().dump(Link.self)
        let indexes = links.map(\.index)
        let query: @Sendable () -> [(Int32, TCAttachment.Hook, UInt32, String)] = {
            indexes.flatMap { index in
                [TCAttachment.Hook.ingress, .egress].compactMap { hook in
                    TCAttachment(ifindex: index, hook: hook, handle: Ownership.tcHandle, priority: Ownership.tcPriority).attachedProgram().map { (index, hook, $0.id, $0.name) }
                }
            }
        }
        let attached = try invocation.namespace.map { try NetworkNamespace.run(in: $0, query) } ?? query()
        let names = LinkNames(links)
        var maps: [(String, Int)] = []
        for name in TrustMapContents.names + ["weft_endpoints", "weft_conntrack"] {
            let map = try BPFMap.openPinned("\(root)/\(name)")
            maps.append((name, try map.keys().count))
        }
        let counters = try TrustFilters.counters(in: try BPFMap.openPinned("\(root)/weft_counters"))
        let pods = try TrustFilters.podCounters(in: try BPFMap.openPinned("\(root)/weft_pod_counters")).sorted { $0.key < $1.key }
        typealias Counts = [(reason: String, packets: UInt64, bytes: UInt64)]
        func json(_ counts: Counts) -> JSON { .object(counts.map { ($0.reason, .object([("packets", .unsigned($0.packets)), ("bytes", .unsigned($0.bytes))])) }) }
        if invocation.json {
            write(JSON.object([
                ("attached", .array(attached.map { .object([("dev", .string(names[$0.0] ?? "?")), ("direction", .string($0.1.rawValue)), ("id", .unsigned(UInt64($0.2))), ("name", .string($0.3))]) })),
                ("maps", .object(maps.map { ($0.0, .unsigned(UInt64($0.1))) })),
                ("counters", json(counters)),
                ("pods", .array(pods.map { .object([("dev", .string(names[$0.key] ?? "?")), ("ifindex", .number(Int64($0.key))), ("counters", json($0.value))]) })),
            ]).rendered())
            return
        }
        for (index, hook, id, name) in attached { write("\(names[index] ?? "?") \(hook): \(name) id \(id)") }
        write("maps: " + maps.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        for (reason, packets, bytes) in counters { write("\(reason) packets \(packets) bytes \(bytes)") }
        // per pod, only what it counted: "weft1a2b3c4d5e6: pass_pod_out 12/1008, drop_policy 3/252"
        for (index, counts) in pods {
            let seen = counts.filter { $0.packets > 0 }.map { "\($0.reason) \($0.packets)/\($0.bytes)" }
            write("\(names[index] ?? "ifindex \(index)"): " + (seen.isEmpty ? "nothing counted" : seen.joined(separator: ", ")))
        }
    }
}
