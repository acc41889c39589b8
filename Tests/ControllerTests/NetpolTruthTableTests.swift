import Foundation
import Testing
import WeftModel
import WeftPlanner
import Yams

/// The upstream Kubernetes e2e NetworkPolicy suite (test/e2e/network/netpol), transcribed
/// as data in Fixtures/netpol-e2e.yaml: namespaces x, y, z with pods a, b, c, and per case
/// the policies in force and, per probe, the 9x9 table of which pod reaches which.
/// Every cell is checked against the evaluator `weftctl policy check` uses, the diagonal
/// included (upstream skips it; its expectation holds there too).
struct NetpolTruthTable: Decodable {
    struct World: Decodable {
        var namespaces: [NamespaceSpec]
        var pods: [Pod]
    }
    struct Pod: Decodable {
        var namespace: String, name: String, address: String
        var labels: [String: String]
        var ports: [ContainerPort]
    }
    struct Case: Decodable {
        var name: String
        var context: String?
        var namespaceLabels: [String: [String: String]]?
        var podLabels: [String: [String: String]]?
        var policies: [NetworkPolicy]
        var probes: [Probe]
        var title: String { (context.map { "[\($0)] " } ?? "") + name }
    }
    struct Probe: Decodable {
        var `protocol`: TransportProtocol
        var port: UInt16
        var reachability: [String]
    }

    var world: World
    var cases: [Case]

    static func load() throws -> NetpolTruthTable {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/netpol-e2e", withExtension: "yaml"))
        return try YAMLDecoder().decode(NetpolTruthTable.self, from: String(contentsOf: url, encoding: .utf8))
    }

    static let order = ["x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"]

    /// One cell of a probe's table: from a pod to a pod on a protocol and port, allowed or not.
    struct Cell {
        var from: String, to: String
        var proto: TransportProtocol
        var port: UInt16
        var allowed: Bool
        var text: String { "\(proto)/\(port) \(from) -> \(to)" }
    }

    /// Every cell of a case's probes, the table's shape checked (9 rows in `order`, 9 cells each).
    static func cells(of c: Case) throws -> [Cell] {
        var cells: [Cell] = []
        for probe in c.probes {
            try #require(probe.reachability.count == 9, "\(c.title): \(probe.reachability.count) rows")
            for (row, line) in probe.reachability.enumerated() {
                let fields = line.split(separator: " ").map(String.init)
                try #require(fields.count == 10 && fields[0] == order[row], "\(c.title): row \"\(line)\"")
                for (column, cell) in fields.dropFirst().enumerated() {
                    cells.append(Cell(from: fields[0], to: order[column], proto: probe.protocol, port: probe.port, allowed: cell == "."))
                }
            }
        }
        return cells
    }

    /// The cluster a case describes: one node holding every pod, the case's label changes applied.
    func spec(for c: Case) -> ClusterSpec {
        let namespaces = world.namespaces.map { ns in NamespaceSpec(name: ns.name, labels: c.namespaceLabels?[ns.name] ?? ns.labels) }
        let pods = world.pods.map { pod in
            PodSpec(namespace: pod.namespace, name: pod.name, node: "n1", address: pod.address,
                    labels: c.podLabels?["\(pod.namespace)/\(pod.name)"] ?? pod.labels, ports: pod.ports)
        }
        return ClusterSpec(cluster: ClusterIdentity(name: "netpol", id: "netpol"),
                           nodes: [NodeSpec(name: "n1", underlay: "192.0.2.1", podCIDR: "10.0.0.0/8")],
                           pods: pods, namespaces: namespaces, networkPolicies: c.policies)
    }
}

@Suite("NetworkPolicy: the upstream e2e truth tables, cell by cell")
struct NetpolTruthTableTests {
    @Test("every cell of every table matches the evaluator")
    func everyCell() throws {
        let table = try NetpolTruthTable.load()
        var cells = 0, wrong: [String] = []
        for c in table.cases {
            let spec = table.spec(for: c)
            #expect(spec.problems().isEmpty, "\(c.title): \(spec.problems())")
            let evaluator = PolicyEvaluator(spec: spec)
            for cell in try NetpolTruthTable.cells(of: c) {
                let query = PolicyEvaluator.Query(from: .pod(try Self.pod(cell.from)), to: .pod(try Self.pod(cell.to)), proto: .init(cell.proto), port: cell.port)
                let verdict = try evaluator.verdict(query)
                cells += 1
                if verdict.allowed != cell.allowed {
                    wrong.append("\(c.title) \(cell.text): want \(cell.allowed ? "allow" : "deny"), got \(verdict)")
                }
            }
        }
        let listed = wrong.prefix(20).joined(separator: "\n"), allRight = wrong.isEmpty
        #expect(allRight, "\(wrong.count) of \(cells) cells wrong:\n\(listed)")
        // The transcription's own totals (its closing comment): 58 entries, 65 probes.
        #expect(table.cases.count == 58 && cells == 65 * 81, "\(table.cases.count) cases, \(cells) cells")
    }

    static func pod(_ key: String) throws -> ObjectReference {
        let parts = key.split(separator: "/")
        try #require(parts.count == 2)
        return ObjectReference(namespace: String(parts[0]), name: String(parts[1]))
    }
}

extension CompiledPolicy.PortProtocol {
    init(_ proto: TransportProtocol) { self.init(rawValue: proto.rawValue)! }
}
