import Foundation
import Testing
import WeftController
import WeftModel
import WeftPlanner

/// The cluster-source interface: the file source on a real file (and a ConfigMap-style
/// symlink swap), and the plane consuming snapshots, pod deltas and refusals.
@Suite("cluster sources")
struct ClusterSourceTests {
    static let yaml = """
        cluster: { name: src, id: src-1 }
        encryption: { enabled: false }
        nodes:
          - { name: node1, underlay: 192.0.2.1, podCIDR: 10.244.1.0/24 }
          - { name: node2, underlay: 192.0.2.2, podCIDR: 10.244.2.0/24 }
        pods:
          - { name: a, node: node1, address: 10.244.1.10 }
        """

    @Test("file source: a snapshot first, a new one per change, a refusal for garbage, and a swapped ConfigMap-style link is seen")
    func fileSource() async throws {
        let dir = temporaryDirectory()
        // As a ConfigMap volume: cluster.yaml -> ..data/cluster.yaml, ..data -> a versioned directory.
        for (version, text) in [("v1", Self.yaml), ("v2", Self.yaml + "\n  - { name: b, node: node2, address: 10.244.2.10 }\n")] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(version)", withIntermediateDirectories: true)
            try text.write(toFile: "\(dir)/\(version)/cluster.yaml", atomically: true, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/..data", withDestinationPath: "v1")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/cluster.yaml", withDestinationPath: "..data/cluster.yaml")
        let source = ClusterFileSource(path: dir + "/cluster.yaml", interval: .milliseconds(20))
        var events = source.events().makeAsyncIterator()
        guard case .snapshot(let first, _)? = await events.next() else { Issue.record("no first snapshot"); return }
        #expect(first.pods.map(\.name) == ["a"])
        // The kubelet's swap: a new ..data link, renamed over the old one.
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/..data_tmp", withDestinationPath: "v2")
        #expect(rename("\(dir)/..data_tmp", "\(dir)/..data") == 0)
        guard case .snapshot(let second, _)? = await events.next() else { Issue.record("the swapped link was not seen"); return }
        #expect(second.pods.map(\.name) == ["a", "b"])
        try "nodes: [ {".write(toFile: "\(dir)/v2/cluster.yaml", atomically: true, encoding: .utf8)
        guard case .refused(let problems, _)? = await events.next() else { Issue.record("garbage was not refused"); return }
        #expect(problems.contains("cluster.yaml"))
    }

    @Test("the plane applies pod deltas incrementally; a refusal changes nothing; a revocation keeps the watch's pods")
    func planeEvents() async throws {
        let plane = try ControlPlane(stateDirectory: temporaryDirectory(), spec: try ClusterFile.parse(Self.yaml))
        let added = PodSpec(name: "c", node: "node2", address: "10.244.2.20")
        let changed = try await plane.apply(.pods([.upsert(added)], version: "rv-2"))
        #expect(changed == ["node2"], "only node2 hosts the new pod and no policy names it")
        #expect(await plane.sourceVersion == "rv-2")
        await #expect(throws: ControlPlane.Failure.self) { try await plane.apply(.refused("line 3: bad", version: "rv-3")) }
        #expect(try await plane.revoke("node1") != nil)
        #expect(await plane.status().nodes.first { $0.name == "node1" }?.revoked == true)
        // The pod from the watch survived the revocation's re-plan.
        #expect(await plane.desiredState(for: "node2")?.ipcache.map(\.cidr).contains("10.244.2.20/32") == true)
        #expect(try await plane.apply(.pods([.upsert(added)], version: "rv-4")).isEmpty, "the same pod again changes nothing")
    }
}
