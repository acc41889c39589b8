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
        #expect(spec.nodes.count == 3 && spec.pods.count == 4 && spec.networkPolicies.count == 1 && spec.namespaces.count == 1 && spec.encryption.enabled)
        let credentials = Dictionary(uniqueKeysWithValues: spec.nodes.map { ($0.name, NodeCredentials(keyAgreementPublicKey: "k", incarnation: "1")) })
        let planner = try Planner(spec: spec, credentials: credentials)
        for node in planner.activeNodes {
            let state = try #require(planner.desiredState(for: node))
            #expect(state.validate().isEmpty && state.node.mtu == 1413)
        }
        #expect(planner.desiredState(for: "node1")?.policy.count == 2, "one rule and the enforcement marker")
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

@Suite("cluster file: hostile content")
struct ClusterFileHostileTests {
    static func problems(_ text: String) -> [String] {
        do { _ = try ClusterFile.parse(text, name: "c.yaml"); return [] } catch { return error.problems }
    }

    @Test("anchors and aliases are refused before they expand (a billion laughs in under 1 KB)")
    func aliases() {
        var text = "cluster: { name: c, id: c1 }\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1..<9 { text += "x\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        text += "nodes: []\n"
        #expect(text.utf8.count < 1024)
        let found = Self.problems(text)
        #expect(found.count == 1 && found[0].hasPrefix("c.yaml:2: YAML anchors and aliases are not accepted (&"), "\(found)")
        // A merge key is an alias too; '*' and '&' inside values, quotes and comments are not.
        #expect(Self.problems("cluster: { name: c, id: c1 }\nbase: { a: 1 }\nx: { <<: *base }\n").first?.hasPrefix("c.yaml:3: YAML anchors") == true)
        #expect(Self.problems("cluster: { name: c, id: c1 } # &not *this\npods: []\nnodes: []\npolicies: []\nrevoked: []\n").isEmpty)
        #expect(Self.problems(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).first?.contains("nested deeper") == true)
    }

    @Test("pod CIDRs over underlay addresses, /1 and special ranges, and special underlays are refused, each with its line")
    func addresses() {
        let found = Self.problems("""
            cluster: { name: c, id: c1 }
            nodes:
              - { name: a, underlay: 10.244.1.5, podCIDR: 10.244.1.0/24 }
              - { name: b, underlay: 0.0.0.0, podCIDR: 0.0.0.0/1 }
              - { name: c, underlay: 192.0.2.3, podCIDR: 224.1.0.0/16 }
              - { name: d, underlay: 239.1.1.1, podCIDR: 10.245.0.0/24 }
              - { name: E_upper, underlay: 192.0.2.5, podCIDR: 10.246.0.0/24 }
            """)
        #expect(found.contains("c.yaml:3: nodes[0].podCIDR: 10.244.1.0/24 contains node a's underlay address 10.244.1.5"), "\(found)")
        #expect(found.contains { $0.hasPrefix("c.yaml:4: nodes[1].underlay: 0.0.0.0 is in \"this network\"") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("c.yaml:4: nodes[1].podCIDR: \"0.0.0.0/1\" is not an IPv4 network prefix of length 8-30") }, "\(found)")
        #expect(found.contains("c.yaml:5: nodes[2].podCIDR: 224.1.0.0/16 overlaps multicast 224.0.0.0/4"), "\(found)")
        #expect(found.contains { $0.hasPrefix("c.yaml:6: nodes[3].underlay: 239.1.1.1 is in multicast") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("c.yaml:7: nodes[4].name: \"E_upper\" is not a node name") }, "\(found)")
    }

    @Test("a file with thousands of problems reports the first hundred and counts the rest")
    func manyProblems() {
        let pods = (0..<5000).map { "  - { name: p\($0), node: ghost, address: 10.9.\($0 / 250).\($0 % 250 + 1) }" }.joined(separator: "\n")
        let found = Self.problems("cluster: { name: c, id: c1 }\nnodes:\n  - { name: a, underlay: 192.0.2.1, podCIDR: 10.244.1.0/24 }\npods:\n" + pods + "\n")
        #expect(found.count == ClusterFile.maximumProblems + 1 && found.last == "c.yaml: … and 4900 more problems", "\(found.count) \(found.last ?? "")")
    }

    @Test("a file over the size cap is refused without parsing")
    func size() {
        let found = Self.problems(String(repeating: "#", count: ClusterFile.maximumSize + 1))
        #expect(found.count == 1 && found[0].contains("more than the"))
    }
}
