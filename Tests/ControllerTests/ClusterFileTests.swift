import Foundation
import Testing
import WeftModel
@testable import WeftController
import WeftPlanner

@Suite("cluster file (YAML)")
struct ClusterFileTests {
    static var example: String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../controller/cluster.example.yaml")
        return (try? String(contentsOf: url.standardizedFileURL, encoding: .utf8)) ?? ""
    }

    @Test("controller/cluster.example.yaml parses, plans, and every node's state validates")
    func example() throws {
        let spec = try ClusterFile.parse(Self.example, name: "cluster.example.yaml")
        #expect(spec.nodes.count == 3 && spec.pods.count == 4 && spec.policies.count == 1 && spec.encryption.enabled)
        let credentials = Dictionary(uniqueKeysWithValues: spec.nodes.map { ($0.name, NodeCredentials(keyAgreementPublicKey: "k", incarnation: "1")) })
        let planner = try Planner(spec: spec, credentials: credentials)
        for node in planner.activeNodes {
            let state = try #require(planner.desiredState(for: node))
            #expect(state.validate().isEmpty && state.node.mtu == 1413)
        }
        #expect(planner.desiredState(for: "node1")?.policy.count == 1)
    }

    @Test("defaults: omitted sections and fields take documented values")
    func defaults() throws {
        let spec = try ClusterFile.parse("""
            cluster: { name: c, id: c1 }
            nodes:
              - { name: a, underlay: 192.0.2.1, podCIDR: 10.244.1.0/24 }
            """)
        #expect(spec.cluster.vni == 42 && spec.cluster.port == 4789 && spec.cluster.underlayMTU == 1500 && !spec.encryption.enabled)
        #expect(spec.pods.isEmpty && spec.policies.isEmpty && spec.revoked.isEmpty)
    }

    @Test("inconsistencies are all reported, each with its line")
    func problems() {
        let text = """
            cluster: { name: c, id: c1 }
            nodes:
              - { name: a, underlay: 192.0.2.1, podCIDR: 10.244.1.0/24 }
              - { name: b, underlay: 192.0.2.2, podCIDR: 10.244.1.128/25 }
              - { name: a, underlay: 192.0.2.3, podCIDR: 10.244.3.0/24 }
            pods:
              - { name: p1, node: a, address: 10.244.9.1 }
              - { name: p2, node: z, address: 10.244.1.20 }
            revoked: [ y ]
            """
        #expect {
            try ClusterFile.parse(text, name: "c.yaml")
        } throws: { error in
            let problems = (error as? ClusterFile.Error)?.problems ?? []
            return problems.contains("c.yaml:4: nodes[1].podCIDR: 10.244.1.128/25 overlaps a's 10.244.1.0/24")
                && problems.contains("c.yaml:5: nodes[2].name: node \"a\" appears twice")
                && problems.contains("c.yaml:7: pods[0].address: 10.244.9.1 is outside node a's pod CIDR 10.244.1.0/24")
                && problems.contains("c.yaml:8: pods[1].node: unknown node \"z\"")
                && problems.contains("c.yaml:9: revoked[0]: unknown node \"y\"")
        }
    }

    @Test("type errors and missing fields name the path and the line; garbage is refused, never trapped on")
    func malformed() {
        let cases: [(String, String)] = [
            ("cluster: { name: c, id: c1, vni: lots }", "c.yaml:1: cluster.vni: expected UInt32"),
            ("cluster: { name: c }", "c.yaml:1: cluster: missing field \"id\""),
            ("cluster: { name: c, id: c1 }\npods:\n  - { name: p }\n", "c.yaml:3: pods[0]: missing field \"node\""),
        ]
        for (text, expected) in cases {
            #expect(throws: ClusterFile.Error.self) { try ClusterFile.parse(text, name: "c.yaml") }
            do { _ = try ClusterFile.parse(text, name: "c.yaml") } catch { #expect(error.problems == [expected], "\\(text)") }
        }
        for garbage in ["", "- a\n- b", "{ unclosed", "cluster: [1, 2]", "\u{0}\u{1}", String(repeating: "[", count: 500)] {
            #expect(throws: ClusterFile.Error.self) { try ClusterFile.parse(garbage) }
        }
    }
}
