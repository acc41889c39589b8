import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import WeftController
@testable import WeftKubernetes
import WeftPKI

/// Network readiness (the Node condition NetworkUnavailable with the Kubernetes source):
/// ready once a node's agent applied its current state, unavailable once revoked.
@Suite struct NodeReadinessTests {
    @Test("ready on the first acknowledgement of the current revision, once; unavailable on revocation")
    func readinessFollowsAcksAndRevocation() async throws {
        let plane = try ControlPlane(stateDirectory: temporaryDirectory(), spec: smallSpec(encryption: false))
        defer { plane.close() }
        let heard = NIOLockedValueBox<[NetworkReadiness]>([])
        await plane.observeNetworkReadiness { readiness in heard.withLockedValue { $0.append(readiness) } }
        _ = try await HostileInputTests.join(plane, NodeIdentity(name: "node1"))
        let revision = try #require(await plane.desiredState(for: "node1")?.revision)
        try await plane.acknowledge(node: "node1", revision: revision - 1, succeeded: true)
        try await plane.acknowledge(node: "node1", revision: revision, succeeded: false)
        #expect(heard.withLockedValue { $0 }.isEmpty, "an old revision or a failed apply is not ready")
        try await plane.acknowledge(node: "node1", revision: revision, succeeded: true)
        try await plane.acknowledge(node: "node1", revision: revision, succeeded: true)
        #expect(heard.withLockedValue { $0 } == [NetworkReadiness(node: "node1", ready: true, reason: "WeftReady",
                                                                  message: "weft-agent applied its desired state (revision \(revision))")])
        _ = try await plane.revoke("node1")
        let last = try #require(heard.withLockedValue { $0 }.last)
        #expect(!last.ready && last.reason == "WeftRevoked" && heard.withLockedValue { $0.count } == 2)
        try await plane.acknowledge(node: "node1", revision: revision, succeeded: true)
        #expect(heard.withLockedValue { $0.count } == 2, "a revoked node never turns ready again")

        // A new observer hears of the nodes already ready.
        let plane2 = try ControlPlane(stateDirectory: temporaryDirectory(), spec: smallSpec(encryption: false))
        defer { plane2.close() }
        _ = try await HostileInputTests.join(plane2, NodeIdentity(name: "node2"))
        let revision2 = try #require(await plane2.desiredState(for: "node2")?.revision)
        try await plane2.acknowledge(node: "node2", revision: revision2, succeeded: true)
        let late = NIOLockedValueBox<[String]>([])
        await plane2.observeNetworkReadiness { readiness in late.withLockedValue { $0.append(readiness.node) } }
        #expect(late.withLockedValue { $0 } == ["node2"])
    }

    @Test("the patch is a strategic merge of the one condition, known document")
    func patchDocument() throws {
        let mark = NodeConditions.Mark(node: "node1", unavailable: false, reason: "WeftReady", message: "applied")
        let text = String(decoding: NodeConditions.patch(mark, now: Date(timeIntervalSince1970: 0)), as: UTF8.self)
        #expect(text == #"{"status":{"conditions":[{"lastHeartbeatTime":"1970-01-01T00:00:00Z","lastTransitionTime":"1970-01-01T00:00:00Z","message":"applied","reason":"WeftReady","status":"False","type":"NetworkUnavailable"}]}}"#)
        let long = NodeConditions.Mark(node: "n", unavailable: true, reason: "WeftRevoked", message: String(repeating: "x", count: 5000))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(NodeConditions.patch(long))) as? [String: Any])
        let condition = try #require(((object["status"] as? [String: Any])?["conditions"] as? [[String: Any]])?.first)
        #expect((condition["message"] as? String)?.count == 1024 && condition["status"] as? String == "True")
    }
}
