import Foundation
import BPF
import Testing
import WeftAgent
import WeftModel
import WeftPlanner
#if canImport(Glibc)
import Glibc
#endif

/// The upstream truth tables once more, now through everything between the controller and
/// the packet: the plan of each case (namespaces x, y, z on nodes n1, n2, n3), each node's
/// desired state written into real pinned BPF maps by the agent's own sync, and each cell
/// answered from those maps by `PolicyTrace` (what `weftctl trace` reads), by the kernel's
/// own longest-prefix lookups. Every cell must say what upstream expects.
/// The BPF objects scripts/build-bpf leaves in the package's .build/bpf.
private let bpfObjects = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent(".build/bpf").path

@Suite("the truth tables through the kernel's maps",
       .enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: bpfObjects + "/weft_pod_in.o"),
                "needs root and the BPF objects (scripts/build-bpf)"))
struct KernelTruthTableTests {

    static let nodes = ["x": "n1", "y": "n2", "z": "n3"]

    /// The case's cluster with each namespace on a node of its own (pod addresses 10.10-12.x.x).
    static func spec(_ table: NetpolTruthTable, _ c: NetpolTruthTable.Case) -> ClusterSpec {
        var spec = table.spec(for: c)
        spec.nodes = [NodeSpec(name: "n1", underlay: "192.0.2.1", podCIDR: "10.10.0.0/16"),
                      NodeSpec(name: "n2", underlay: "192.0.2.2", podCIDR: "10.11.0.0/16"),
                      NodeSpec(name: "n3", underlay: "192.0.2.3", podCIDR: "10.12.0.0/16")]
        for i in spec.pods.indices { spec.pods[i].node = nodes[spec.pods[i].namespace]! }
        return spec
    }

    @Test("every cell of every table, from the maps each node's agent writes")
    func everyCell() throws {
        let table = try NetpolTruthTable.load()
        let bpffs = temporaryDirectory()
        try #require(mount("bpf", bpffs, "bpf", 0, nil) == 0, "mount bpffs on \(bpffs): errno \(errno)")
        defer { umount2(bpffs, Int32(MNT_DETACH)); rmdir(bpffs) }
        var filters: [String: TrustFilters] = [:], maps: [String: PolicyTrace.Maps] = [:]
        for node in ["n1", "n2", "n3"] {
            try FileManager.default.createDirectory(atPath: "\(bpffs)/\(node)", withIntermediateDirectories: true)
            filters[node] = try TrustFilters(objects: bpfObjects, pinRoot: "\(bpffs)/\(node)")
            maps[node] = try PolicyTrace.Maps(pinRoot: "\(bpffs)/\(node)")
        }
        let addresses = Dictionary(uniqueKeysWithValues: table.world.pods.map { ("\($0.namespace)/\($0.name)", IPv4($0.address)!.value) })
        // What weft-cni ADD leaves in weft_endpoints for each pod (a made-up ifindex, as no
        // veth exists here): struct weft_endpoint { be32 addr; u8 mac[6]; u16 flags }.
        for (i, pod) in table.world.pods.enumerated() {
            let map = try BPFMap.openPinned("\(bpffs)/\(Self.nodes[pod.namespace]!)/weft_endpoints")
            let address = addresses["\(pod.namespace)/\(pod.name)"]!
            try map.update(key: [UInt8(100 + i), 0, 0, 0], value: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: address >> $0) } + [2, 0, 0, 0, 0, UInt8(i), 1, 0])
        }
        let credentials = Dictionary(uniqueKeysWithValues: ["n1", "n2", "n3"].map { ($0, NodeCredentials(keyAgreementPublicKey: "k-\($0)", incarnation: "i")) })
        var cells = 0, wrong: [String] = []
        for c in table.cases {
            let planner = try Planner(spec: Self.spec(table, c), credentials: credentials)
            for (node, trust) in filters { _ = try trust.sync(try #require(planner.desiredState(for: node))) }
            for cell in try NetpolTruthTable.cells(of: c) {
                let flow = PolicyTrace.Flow(from: addresses[cell.from]!, to: addresses[cell.to]!, proto: Self.number(cell.proto), port: cell.port)
                let fromNode = Self.nodes[String(cell.from.prefix(1))]!, toNode = Self.nodes[String(cell.to.prefix(1))]!
                var steps = try PolicyTrace.trace(flow, maps: maps[fromNode]!).steps
                if toNode != fromNode { steps += try PolicyTrace.trace(flow, maps: maps[toNode]!).steps }
                cells += 1
                let allowed = steps.allSatisfy(\.passed)
                if allowed != cell.allowed || steps.isEmpty {
                    wrong.append("\(c.title) \(cell.text): want \(cell.allowed ? "allow" : "deny"), the maps say \(steps.map { "\($0.reason) (\($0.why))" })")
                }
            }
        }
        let listed = wrong.prefix(20).joined(separator: "\n"), allRight = wrong.isEmpty
        #expect(allRight, "\(wrong.count) of \(cells) cells wrong:\n\(listed)")
        #expect(cells == 65 * 81)
    }

    static func number(_ proto: TransportProtocol) -> UInt8 {
        switch proto {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        }
    }
}
