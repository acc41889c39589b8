import Crypto
import Foundation
import Testing
@testable import WeftController
import WeftModel
import WeftPKI

/// Joins arriving together are committed as one group (`ControlPlane+Joins.swift`): each
/// answered for itself, a refused one changing nothing, all of it on disk before any answer.
@Suite("joins in groups: one write for many, each answered for itself")
struct GroupCommitTests {
    static func spec(nodes: Int) -> ClusterSpec {
        let list = (0..<nodes).map { i in
            NodeSpec(name: String(format: "node-%02d", i), underlay: "192.0.2.\(10 + i)", podCIDR: "10.64.\(i).0/24")
        }
        return ClusterSpec(cluster: ClusterIdentity(name: "group", id: "group"), encryption: EncryptionSettings(enabled: true, rotationSeconds: 0),
                           nodes: list)
    }

    enum Outcome: Equatable { case joined, refused(ControlPlane.Failure.Kind) }

    /// Runs every join at once; returns each one's outcome, by label.
    static func joinTogether(_ plane: ControlPlane, _ joins: [(label: String, node: String, token: String, csr: String)]) async -> [String: Outcome] {
        await withTaskGroup(of: (String, Outcome).self) { group in
            for join in joins {
                group.addTask {
                    do throws(ControlPlane.Failure) {
                        _ = try await plane.join(node: join.node, token: join.token, csrPEM: join.csr, incarnation: "boot-1")
                        return (join.label, .joined)
                    } catch {
                        return (join.label, .refused(error.kind))
                    }
                }
            }
            var outcomes: [String: Outcome] = [:]
            for await (label, outcome) in group { outcomes[label] = outcome }
            return outcomes
        }
    }

    @Test("30 joins at once with a wrong token, an unknown node and two nodes sharing a key among them: the good ones join, durably; no refused token is spent")
    func mixedGroup() async throws {
        let dir = temporaryDirectory()
        let plane = try ControlPlane(stateDirectory: dir, spec: Self.spec(nodes: 34))
        var joins: [(label: String, node: String, token: String, csr: String)] = []
        for i in 0..<30 {
            let node = String(format: "node-%02d", i)
            joins.append((node, node, try await plane.createToken(node: node, ttl: 300), try NodeIdentity(name: node).certificateSigningRequestPEM()))
        }
        // node-31's token presented by node-30: refused, and node-31's token stays good.
        let token31 = try await plane.createToken(node: "node-31", ttl: 300)
        joins.append(("wrong-token", "node-30", token31, try NodeIdentity(name: "node-30").certificateSigningRequestPEM()))
        joins.append(("unknown-node", "ghost", token31, try NodeIdentity(name: "ghost").certificateSigningRequestPEM()))
        // Two nodes with one key-agreement key: whichever is recorded first keeps it.
        let shared = P256.KeyAgreement.PrivateKey()
        var sharedTokens: [String: String] = [:]
        for node in ["node-32", "node-33"] {
            let csr = try NodeIdentity(name: node, keyAgreementKey: shared).certificateSigningRequestPEM()
            sharedTokens[node] = try await plane.createToken(node: node, ttl: 300)
            joins.append((node, node, sharedTokens[node]!, csr))
        }
        let outcomes = await Self.joinTogether(plane, joins)

        for i in 0..<30 { #expect(outcomes[String(format: "node-%02d", i)] == .joined) }
        #expect(outcomes["wrong-token"] == .refused(.unauthenticated))
        #expect(outcomes["unknown-node"] == .refused(.unauthenticated))
        let sharing = [outcomes["node-32"], outcomes["node-33"]]
        #expect(sharing.filter { $0 == .joined }.count == 1 && sharing.contains(.refused(.invalidArgument)), "\(sharing)")
        let joined = await plane.status().nodes.filter(\.joined).map(\.name)
        #expect(joined.count == 31)

        // On disk: a controller started over the directory knows every join.
        plane.close()
        let restarted = try ControlPlane(stateDirectory: dir, spec: Self.spec(nodes: 34))
        #expect(Set(await restarted.status().nodes.filter(\.joined).map(\.name)) == Set(joined))
        restarted.close()
        // The refused joins spent nothing: node-31's token still works, once.
        let store = try JoinTokens(path: dir + "/tokens.json")
        #expect(throws: Never.self) { try store.consume(token31, node: "node-31") }
        #expect(throws: PKIError.self) { try store.consume(token31, node: "node-31") }
        // The node refused for the key kept its token too (checked before tokens are spent).
        let loser = outcomes["node-32"] == .joined ? "node-33" : "node-32"
        #expect(throws: Never.self) { try store.consume(sharedTokens[loser]!, node: loser) }
    }

    @Test("a flood of refused joins (bad tokens, unknown nodes) writes neither the state file nor the token store")
    func refusedGroupsWriteNothing() async throws {
        let dir = temporaryDirectory()
        let plane = try ControlPlane(stateDirectory: dir, spec: Self.spec(nodes: 4))
        defer { plane.close() }
        _ = try await plane.createToken(node: "node-00", ttl: 300)
        func version(_ file: String) throws -> [Int] {
            let info = try FileManager.default.attributesOfItem(atPath: dir + "/" + file)
            return [(info[.systemFileNumber] as? Int) ?? -1, (info[.size] as? Int) ?? -1,
                    Int(((info[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1e6)]
        }
        let before = try (version("controller.json"), version("tokens.json"))
        let joins = try (0..<40).map { i in
            let node = i % 2 == 0 ? "node-00" : "ghost-\(i)"
            return (label: "\(i)", node: node, token: "weft-join.0000000\(i % 10).00", csr: try NodeIdentity(name: node).certificateSigningRequestPEM())
        }
        let outcomes = await Self.joinTogether(plane, joins)
        #expect(outcomes.count == 40 && outcomes.values.allSatisfy { $0 == .refused(.unauthenticated) })
        #expect(try version("controller.json") == before.0, "controller.json was written for refused joins")
        #expect(try version("tokens.json") == before.1, "tokens.json was written for refused joins")
    }

    @Test("tokens: a group spent with one write, each result its own; what was spent is on disk for the next start")
    func tokenGroup() throws {
        let dir = temporaryDirectory()
        let controller = try JoinTokens(path: dir + "/tokens.json")
        let first = try controller.create(node: "node1", ttl: 60).token
        let results = controller.consume([(first, "node1"), (first, "node1"), ("weft-join.nope", "node1"), (first, "node2")])
        #expect((try? results[0].get()) != nil)
        #expect(results.dropFirst().map { (try? $0.get()) == nil } == [true, true, true])
        #expect("\(results[1])".contains("already used") && "\(results[2])".contains("malformed"))

        let second = try controller.create(node: "node2", ttl: 60).token
        #expect(throws: Never.self) { try controller.consume(second, node: "node2") }
        // Both spends reached the disk: a restarted controller refuses both tokens.
        let fresh = try JoinTokens(path: dir + "/tokens.json")
        #expect(fresh.consume([(first, "node1"), (second, "node2")]).allSatisfy { (try? $0.get()) == nil })

        // Many tokens with one write: distinct ids, each good once for its own node.
        let nodes = (0..<50).map { "node-\($0)" }
        let many = try controller.create(nodes: nodes, ttl: 60)
        #expect(Set(many.map(\.id)).count == 50)
        let spent = try JoinTokens(path: dir + "/tokens.json").consume(zip(many, nodes).map { ($0.token, $1) })
        #expect(spent.allSatisfy { (try? $0.get()) != nil })
        #expect(throws: PKIError.self) { try controller.create(nodes: ["node-1", ""], ttl: 60) }
    }
}
