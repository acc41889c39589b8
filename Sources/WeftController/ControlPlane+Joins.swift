import Foundation
import WeftModel
import WeftPKI
import WeftPlanner
import X509

/// Joins are committed in groups: the joins that reach the controller while one is being
/// written wait for it, then go in together: one token-store write, one topology re-plan,
/// one state-file write and one publish for the whole group, each join answered only once
/// its certificate and spent token are on disk. A cluster booting (1,000 agents joining at
/// once) pays O(nodes) per group, not per join.
extension ControlPlane {
    /// A join whose CSR checked out and whose certificate is signed, waiting for its group.
    struct CheckedJoin: @unchecked Sendable {  // immutable; the Crypto key types are not marked Sendable
        let node: String
        let token: String
        let issued: Issued
        let incarnation: String
        /// Who vouched for it instead of a join token (a service-account review), if anyone.
        var voucher: String? = nil
    }

    typealias JoinResult = Result<Certificate, Failure>

    /// Commits `join` with whatever other joins are waiting. The first join of a group
    /// lets the joins already queued for the actor in (one yield), then commits them all.
    func commitInGroup(_ join: CheckedJoin) async -> JoinResult {
        if gatheringJoins {
            return await withCheckedContinuation { pendingJoins.append((join, $0)) }
        }
        gatheringJoins = true
        await Task.yield()
        let group = pendingJoins
        pendingJoins = []
        gatheringJoins = false
        let results = commitJoins([join] + group.map(\.join))
        for (waiting, result) in zip(group, results.dropFirst()) { waiting.reply.resume(returning: result) }
        return results[0]
    }

    /// One group: admission, key ownership and tokens first (a refused join changes
    /// nothing), then each certificate recorded, then the plan, the state file and the
    /// agents' deltas once.
    private func commitJoins(_ joins: [CheckedJoin]) -> [JoinResult] {
        var results: [JoinResult?] = joins.map { join in
            do throws(Failure) { try admitJoin(join.node); return nil } catch { return .failure(error) }
        }
        // A key-agreement key another node holds (in the plan or earlier in this group) is
        // refused before any token is spent.
        var claimed: [String: String] = [:]
        for index in joins.indices where results[index] == nil {
            let join = joins[index], key = join.issued.keyAgreementKey.x963Representation.base64EncodedString()
            if let owner = keyOwner(key, except: join.node, pending: claimed) { results[index] = .failure(Self.keyTaken(by: owner)) } else { claimed[join.node] = key }
        }
        let admitted = joins.indices.filter { results[$0] == nil }
        // A vouched join spends no token.
        let withToken = admitted.filter { joins[$0].voucher == nil }
        var outcomes = Dictionary(uniqueKeysWithValues: zip(withToken, tokens.consume(withToken.map { (token: joins[$0].token, node: joins[$0].node) })))
        for index in admitted where joins[index].voucher != nil { outcomes[index] = .success(joins[index].voucher!) }
        var updates: [String: NodeCredentials] = [:]
        let base = planner.baseline
        for index in admitted {
            let outcome = outcomes[index]!
            let join = joins[index]
            if case .failure(let error) = outcome {
                results[index] = .failure(Failure(kind: .unauthenticated, description: Self.joinRefused, logged: error.description))
                continue
            }
            do throws(Failure) {
                updates[join.node] = try record(node: join.node, issued: join.issued, incarnation: join.incarnation, presented: nil, pending: updates)
                results[index] = .success(join.issued.certificate)
            } catch {
                results[index] = .failure(error)
            }
        }
        // A group with no join to record writes nothing (refused joins cost no disk I/O).
        guard !updates.isEmpty else { return results.map { $0! } }
        do {
            let changed = try planner.setCredentials(updates.mapValues { Optional($0) })
            try save()
            publish(changed, since: base)
        } catch {
            let failure = Failure(kind: .failedPrecondition, description: "recording the certificate failed: \(error)")
            for index in joins.indices where (try? results[index]?.get()) != nil { results[index] = .failure(failure) }
        }
        return results.map { $0! }
    }
}
