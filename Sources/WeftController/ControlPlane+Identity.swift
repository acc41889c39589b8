import Crypto
import Foundation
import WeftKubernetes
import WeftModel
import WeftPKI
import WeftPlanner
import X509

/// Who may talk to the controller: joins, renewals, the certificate check on every call,
/// revocation and retirement.
extension ControlPlane {
    /// What a refused join is told, whatever the reason: an unauthenticated caller learns
    /// neither which node names exist nor which tokens do. The audit log has the reason.
    static let joinRefused = "join refused: no valid join token for this node (unknown, spent or expired token, or a node not in the cluster)"

    typealias Issued = (certificate: Certificate, keyAgreementKey: P256.KeyAgreement.PublicKey)

    /// Join: bounded fields, a CSR that proves possession (checked and signed outside the
    /// actor), then, in a group with the other joins arriving meanwhile
    /// (`commitInGroup`), a node that is listed and not revoked, the token spent and the
    /// certificate recorded. A refused join writes nothing but its audit entry, and that
    /// at a bounded rate.
    /// With the Kubernetes source a service-account token (a JWT) is checked by the API
    /// server instead (`ServiceAccountReview`, outside the actor) and spends no join token.
    public nonisolated func join(node: String, token: String, csrPEM: String, incarnation: String) async throws(Failure) -> Certificate {
        do throws(Failure) {
            if let review = serviceAccountJoins.withLockedValue({ $0 }), ServiceAccountReview.looksLikeJWT(token) {
                try RequestLimits.checkServiceAccountJoin(node: node, token: token, csrPEM: csrPEM, incarnation: incarnation)
                let voucher: String
                do { voucher = try await review.review(token: token, node: node) } catch {
                    throw Failure(kind: .unauthenticated, description: Self.joinRefused, logged: "service-account token: \(error)")
                }
                let issued = try Self.sign(csrPEM, for: node, ca: ca)
                return try await commitInGroup(CheckedJoin(node: node, token: "", issued: issued, incarnation: incarnation, voucher: voucher)).get()
            }
            try RequestLimits.checkJoin(node: node, token: token, csrPEM: csrPEM, incarnation: incarnation)
            let issued = try Self.sign(csrPEM, for: node, ca: ca)
            return try await commitInGroup(CheckedJoin(node: node, token: token, issued: issued, incarnation: incarnation)).get()
        } catch {
            refused("join-refused", node: node, error)
            throw error
        }
    }

    /// Renew: the caller is authenticated by `presented`, the serial of its current
    /// certificate or of the one that certificate renewed (checked by `authenticate`).
    public func renew(node: String, presented: String, csrPEM: String, incarnation: String) throws(Failure) -> Certificate {
        try RequestLimits.checkCSR(csrPEM)
        try RequestLimits.checkIncarnation(incarnation)
        _ = try acceptedRecord(serial: presented, of: node)
        return try commit(node: node, issued: try Self.sign(csrPEM, for: node, ca: ca), incarnation: incarnation, presented: presented)
    }

    /// Checks a presented certificate: issued by this CA, valid, its node listed and not
    /// revoked, its serial never retired, and the node's current certificate (or the one
    /// it renewed, until the renewed one is first used). Returns the node.
    public func authenticate(_ certificate: Certificate?) throws(Failure) -> String {
        guard let certificate else { throw Failure(kind: .unauthenticated, description: "no client certificate") }
        let node: String
        do { node = try ca.verifyNodeCertificate(certificate) } catch { throw Failure(kind: .unauthenticated, description: error.description) }
        let serial = "\(certificate.serialNumber)"
        let record = try acceptedRecord(serial: serial, of: node)
        if record.serial == serial, record.previous != nil {
            // The renewed certificate is in use: the one it replaced is done.
            persisted.certificates[node]?.previous = nil
            try? save()
        }
        return node
    }

    /// The rule for which certificate of `node` counts, for every call and for renewal
    /// alike: its serial never retired, the node listed and not revoked, and the serial
    /// the node's current one or the one that renewed it replaced. Returns the record.
    private func acceptedRecord(serial: String, of node: String) throws(Failure) -> CertificateRecord {
        guard persisted.retiredSerials?[serial] == nil else {
            throw Failure(kind: .permissionDenied, description: "certificate \(serial) was revoked")
        }
        guard !isRevoked(node) else { throw Failure(kind: .permissionDenied, description: "node \(node) is revoked") }
        guard fileNodes.contains(node) else { throw Failure(kind: .permissionDenied, description: "node \(node) is no longer in the cluster") }
        guard let record = persisted.certificates[node] else {
            throw Failure(kind: .unauthenticated, description: "node \(node) has no certificate on record")
        }
        guard record.serial == serial || record.previous == serial else {
            throw Failure(kind: .unauthenticated, description: "certificate \(serial) is not node \(node)'s current one")
        }
        return record
    }

    func isRevoked(_ node: String) -> Bool { planner.structure.revoked.contains(node) || persisted.revoked.contains(node) }

    /// Revokes `node` at runtime (`weftctl revoke`): quarantined everywhere, its streams
    /// ended, its certificates refused for good. Works for a node no longer listed too (its
    /// certificates are retired). Returns the nodes whose state changed, or nil when
    /// `node` was revoked already. Persisted: it outlives a restart and a cluster file that
    /// still lists the node as trusted.
    @discardableResult
    public func revoke(_ node: String) throws -> Set<String>? {
        guard NodeName.isValid(node) else { throw Failure(kind: .invalidArgument, description: "not a node name") }
        guard fileNodes.contains(node) || persisted.certificates[node] != nil || persisted.formerNodes?.contains(node) == true else {
            throw Failure(kind: .notFound, description: "node \(node) is not in the cluster and never was")
        }
        guard !isRevoked(node) else { return nil }
        persisted.revoked.append(node)
        guard fileNodes.contains(node) else {
            try revoked(node, reason: "operator")
            try save()
            return []
        }
        // The planner's pods, not the file's: a watch source's pod deltas must stay.
        var spec = planner.spec
        spec.revoked = fileSpec.revoked
        do {
            return try update(spec: spec, reason: "operator")
        } catch {
            persisted.revoked.removeAll { $0 == node }
            throw error
        }
    }

    /// A node was revoked (by the operator or the cluster file): audited, its streams
    /// ended with PERMISSION_DENIED, its certificates retired.
    func revoked(_ node: String, reason: String) throws {
        try audit.record("revoke", subject: node, detail: ["reason": reason, "serial": persisted.certificates[node]?.serial ?? "-"])
        endStreams(of: node, Failure(kind: .permissionDenied, description: "node \(node) was revoked"))
        retireCertificates(of: node)
        pendingSince[node] = nil
        metrics.setRevisionLag(node, 0)
        metrics.revocations.increment()
        noteUnavailable(node, reason: "WeftRevoked", message: "the node was revoked (\(reason)); Weft no longer carries its traffic")
    }

    /// A node left the cluster file: its certificates are retired (re-listing it later
    /// needs a new join, with a new token).
    func retired(_ node: String) throws {
        guard persisted.certificates[node] != nil else { return }
        try audit.record("retire", subject: node, detail: ["reason": "removed from the cluster", "serial": persisted.certificates[node]?.serial ?? "-"])
        endStreams(of: node, Failure(kind: .permissionDenied, description: "node \(node) is no longer in the cluster"))
        retireCertificates(of: node)
        persisted.formerNodes = (persisted.formerNodes ?? []).union([node])
    }

    private func retireCertificates(of node: String, now: Date = Date()) {
        var retired = (persisted.retiredSerials ?? [:]).filter { $0.value > now }
        if let record = persisted.certificates.removeValue(forKey: node) {
            retired[record.serial] = record.expires
            // A previous certificate expires before its successor: the successor's expiry bounds it.
            if let previous = record.previous { retired[previous] = record.expires }
        }
        persisted.retiredSerials = retired
    }

    // MARK: steps of join and renew

    /// The CA's checks of a CSR for `node` and the certificate it would get (nothing is
    /// recorded yet: a refused join or renewal leaves no trace but its audit entry).
    static func sign(_ csrPEM: String, for node: String, ca: ClusterCA) throws(Failure) -> Issued {
        do { return try ca.issueNodeCertificate(csrPEM: csrPEM, node: node) } catch {
            throw Failure(kind: .invalidArgument, description: error.description)
        }
    }

    func admitJoin(_ node: String) throws(Failure) {
        guard fileNodes.contains(node) else { throw Failure(kind: .unauthenticated, description: Self.joinRefused, logged: "node is not in the cluster") }
        guard !isRevoked(node) else { throw Failure(kind: .unauthenticated, description: Self.joinRefused, logged: "node is revoked") }
    }

    /// Records a renewed certificate and the node's keys, and re-plans its peers.
    func commit(node: String, issued: Issued, incarnation: String, presented: String?) throws(Failure) -> Certificate {
        let credentials = try record(node: node, issued: issued, incarnation: incarnation, presented: presented)
        do {
            let base = planner.baseline
            let changed = try planner.setCredentials(credentials, for: node)
            try save()
            publish(changed, since: base)
        } catch {
            throw Failure(kind: .failedPrecondition, description: "recording the certificate failed: \(error)")
        }
        return issued.certificate
    }

    /// Records one issued certificate (audited, counted) and returns the node's new
    /// credentials, which the caller puts in the plan. `pending`: credentials recorded
    /// earlier in the same group of joins, not in the plan yet.
    func record(node: String, issued: Issued, incarnation: String, presented: String?,
                pending: [String: NodeCredentials] = [:]) throws(Failure) -> NodeCredentials {
        guard !isRevoked(node) else { throw Failure(kind: .permissionDenied, description: "node \(node) is revoked") }
        let key = issued.keyAgreementKey.x963Representation.base64EncodedString()
        if let owner = keyOwner(key, except: node, pending: pending.mapValues(\.keyAgreementPublicKey)) { throw Self.keyTaken(by: owner) }
        let serial = "\(issued.certificate.serialNumber)"
        let old = persisted.certificates[node]
        // A renewal with the current certificate keeps it as `previous`; a retry with the
        // previous one (the answer was lost) keeps that; a join starts over.
        let previous = presented == nil ? nil : (presented == old?.serial ? old?.serial : old?.previous)
        let event = presented == nil ? "issue" : "renew"
        do {
            try audit.record(event, subject: node, detail: ["serial": serial, "incarnation": incarnation,
                                                           "expires": ISO8601DateFormatter().string(from: issued.certificate.notValidAfter)])
        } catch {
            throw Failure(kind: .failedPrecondition, description: "recording the certificate failed: \(error)")
        }
        persisted.certificates[node] = CertificateRecord(serial: serial, expires: issued.certificate.notValidAfter, previous: previous)
        (presented == nil ? metrics.certificatesIssued : metrics.certificatesRenewed).increment()
        return NodeCredentials(keyAgreementPublicKey: key, incarnation: incarnation)
    }

    /// The node other than `node` that holds key-agreement key `key` (base64 X9.63), in the
    /// plan or in `pending` (node → key, recorded in this group but not planned yet).
    func keyOwner(_ key: String, except node: String, pending: [String: String] = [:]) -> String? {
        pending.first { $0.key != node && $0.value == key }?.key
            ?? planner.credentials.first { $0.key != node && pending[$0.key] == nil && $0.value.keyAgreementPublicKey == key }?.key
    }

    static func keyTaken(by owner: String) -> Failure {
        Failure(kind: .invalidArgument, description: "the CSR's key-agreement key is registered to another node",
                logged: "key-agreement key of node \(owner)")
    }

    /// Counts a refused request and audits it within the refusal budget, with bounded
    /// values only (the audit log bounds every value it writes).
    nonisolated func refused(_ event: String, node: String, _ failure: Failure) {
        metrics.joinsRefused.increment()
        guard let heldBack = refusals.admit() else { return }
        var detail = ["reason": failure.logged ?? failure.description]
        if heldBack > 0 { detail["refusals-not-recorded-before"] = "\(heldBack)" }
        try? audit.record(event, subject: node, detail: detail)
    }
}
