import Crypto
import Foundation
import WeftFiles
import WeftModel
import WeftPKI
import WeftPlanner
import X509

/// The controller's state and rules, independent of the transport: the plan, the nodes'
/// credentials, who watches, what each node acknowledged, revocations. The gRPC service
/// (`ControlService`) is a thin adapter over it, so its rules are tested directly too.
///
/// Persistent state lives in `stateDirectory`: the CA (`ca.key` 0600, `ca.crt`), join
/// tokens (`tokens.json` 0600), the audit log (`audit.log` 0600), and `controller.json`
/// (0600: allocations, credentials, rotation state, revocations), rewritten atomically on
/// every change, so a restart keeps identities, indexes and epochs.
public actor ControlPlane {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable { case unauthenticated, permissionDenied, invalidArgument, failedPrecondition, notFound }
        public var kind: Kind
        public var description: String
    }

    /// What survives a restart besides the PKI files.
    struct Persisted: Codable {
        var allocations = Allocations()
        var credentials: [String: NodeCredentials] = [:]
        var rotation = RotationState()
        var revoked: [String] = []
        var certificates: [String: CertificateRecord] = [:]
        /// When the last rotation started (or the controller first started): the rotation
        /// interval counts from here, across restarts.
        var lastRotation: Date?
        /// Each node's last revision: a restarted controller continues above it, so an
        /// agent's acknowledgement of a revision from before the restart never counts as
        /// one of the new plan.
        var revisions: [String: UInt64] = [:]
    }

    public struct CertificateRecord: Codable, Sendable, Hashable {
        public var serial: String
        public var expires: Date
    }

    public struct NodeStatus: Sendable, Hashable {
        public var name: String
        public var desiredRevision: UInt64
        public var appliedRevision: UInt64
        public var connected: Bool
        public var certificateExpires: Date?
        public var inboundEpoch: UInt32
        public var outboundEpoch: UInt32
        public var revoked: Bool
        /// The controller knows its key-agreement key (it joined).
        public var joined: Bool
        /// Since when its latest desired revision has been waiting for its acknowledgement.
        public var pendingSince: Date?
    }

    public nonisolated let stateDirectory: String
    public nonisolated let ca: ClusterCA
    public nonisolated let metrics = ControllerMetrics()
    let tokens: JoinTokens
    let audit: AuditLog
    private(set) var planner: Planner
    private var persisted: Persisted
    /// The file's spec, before runtime revocations are added to it.
    private var fileSpec: ClusterSpec
    private var watchers: [String: [UUID: Watcher]] = [:]
    /// Per watched node: what its streams were last sent (all of a node's streams get the
    /// same events, so one record serves them all). Deltas are computed against it.
    private var sent: [String: Planner.SentSections] = [:]
    private var applied: [String: UInt64] = [:]
    /// Node → when its desired state first got ahead of what it acknowledged.
    private var pendingSince: [String: Date] = [:]

    struct Watcher {
        let continuation: AsyncThrowingStream<WatchEvent, Error>.Continuation
    }

    public enum WatchEvent: Sendable {
        case snapshot(DesiredNodeState)
        case delta(DesiredStateDelta)
    }

    public init(stateDirectory: String, spec: ClusterSpec) throws {
        self.stateDirectory = stateDirectory
        let (ca, created) = try ClusterCA.loadOrCreate(directory: stateDirectory, clusterName: spec.cluster.name)
        self.ca = ca
        tokens = try JoinTokens(path: stateDirectory + "/tokens.json")
        audit = try AuditLog(path: stateDirectory + "/audit.log", ca: ca)
        if let data = FileManager.default.contents(atPath: stateDirectory + "/controller.json") {
            persisted = try JSONDecoder.weft.decode(Persisted.self, from: data)
        } else {
            persisted = Persisted()
        }
        fileSpec = spec
        planner = try Planner(spec: Self.effective(spec, revoked: persisted.revoked), allocations: persisted.allocations,
                              credentials: persisted.credentials, rotation: persisted.rotation)
        planner.continueRevisions(after: persisted.revisions)
        if created { try audit.record("ca-created", detail: ["subject": "\(ca.certificate.subject)"]) }
        try audit.record("spi-rule", detail: ["rule": "(epoch mod 256) << 24 | sender index << 8 | 0x57", "epoch": "\(planner.rotation.currentEpoch)"])
        persisted = try Self.write(persisted, planner, to: stateDirectory)
        metrics.currentEpoch.set(Double(planner.rotation.currentEpoch))
        metrics.activeNodes.set(Double(planner.activeNodes.count))
    }

    static func effective(_ spec: ClusterSpec, revoked: [String]) -> ClusterSpec {
        var spec = spec
        spec.revoked = Array(Set(spec.revoked + revoked.filter { name in spec.nodes.contains { $0.name == name } })).sorted()
        return spec
    }

    private func save() throws {
        persisted = try Self.write(persisted, planner, to: stateDirectory)
    }

    private static func write(_ persisted: Persisted, _ planner: Planner, to directory: String) throws -> Persisted {
        var persisted = persisted
        persisted.allocations = planner.allocations
        persisted.credentials = planner.credentials
        persisted.rotation = planner.rotation
        persisted.revisions = planner.revisions
        try SecureFile.write(Array(try JSONEncoder.weft.encode(persisted)), to: directory + "/controller.json")
        return persisted
    }

    // MARK: sources

    /// The source's version of the state last applied (or refused), for logs and status.
    public private(set) var sourceVersion: String?

    /// One event from a `ClusterSource`: a snapshot is planned (incrementally when only
    /// pods changed), pod deltas are applied incrementally; either way the nodes whose
    /// state changed get a delta. A refused state changes nothing and throws.
    @discardableResult
    public func apply(_ event: ClusterEvent) throws -> Set<String> {
        switch event {
        case .snapshot(let spec, let version):
            let changed = try update(spec: spec)
            sourceVersion = version
            return changed
        case .pods(let changes, let version):
            let base = planner.baseline
            let changed = try planner.apply(changes)
            sourceVersion = version
            try save()
            publish(changed, since: base)
            return changed
        case .refused(let problems, let version):
            sourceVersion = version
            throw Failure(kind: .invalidArgument, description: problems)
        }
    }

    /// A new cluster file: re-plan, push deltas to the nodes whose state changed.
    @discardableResult
    public func update(spec: ClusterSpec) throws -> Set<String> { try update(spec: spec, reason: "cluster file") }

    private func update(spec: ClusterSpec, reason: String) throws -> Set<String> {
        let before = Set(planner.structure.revoked)
        let base = planner.baseline
        let changed = try planner.update(to: Self.effective(spec, revoked: persisted.revoked))
        fileSpec = spec
        for node in Set(planner.structure.revoked).subtracting(before) { try revoked(node, reason: reason) }
        try save()
        publish(changed, since: base)
        return changed
    }

    // MARK: PKI

    /// Join: spend the token, sign the CSR, learn the node's key-agreement key.
    public func join(node: String, token: String, csrPEM: String, incarnation: String) throws(Failure) -> Certificate {
        guard fileSpec.nodes.contains(where: { $0.name == node }) else { throw Failure(kind: .notFound, description: "node \(node) is not in the cluster") }
        guard !planner.structure.revoked.contains(node) else { throw Failure(kind: .permissionDenied, description: "node \(node) is revoked") }
        do { _ = try tokens.consume(token, node: node) } catch {
            try? audit.record("join-refused", subject: node, detail: ["reason": error.description])
            metrics.joinsRefused.increment()
            throw Failure(kind: .unauthenticated, description: error.description)
        }
        return try issue(node: node, csrPEM: csrPEM, incarnation: incarnation, event: "issue")
    }

    /// Renew: the caller is authenticated by its current certificate (checked by the service).
    public func renew(node: String, csrPEM: String, incarnation: String) throws(Failure) -> Certificate {
        guard !planner.structure.revoked.contains(node) else { throw Failure(kind: .permissionDenied, description: "node \(node) is revoked") }
        return try issue(node: node, csrPEM: csrPEM, incarnation: incarnation, event: "renew")
    }

    private func issue(node: String, csrPEM: String, incarnation: String, event: String) throws(Failure) -> Certificate {
        let issued: (certificate: Certificate, keyAgreementKey: P256.KeyAgreement.PublicKey)
        do { issued = try ca.issueNodeCertificate(csrPEM: csrPEM, node: node) } catch {
            throw Failure(kind: .invalidArgument, description: error.description)
        }
        let serial = "\(issued.certificate.serialNumber)"
        persisted.certificates[node] = CertificateRecord(serial: serial, expires: issued.certificate.notValidAfter)
        let credential = NodeCredentials(keyAgreementPublicKey: issued.keyAgreementKey.x963Representation.base64EncodedString(), incarnation: incarnation)
        do {
            try audit.record(event, subject: node, detail: ["serial": serial, "expires": ISO8601DateFormatter().string(from: issued.certificate.notValidAfter),
                                                           "incarnation": incarnation])
            let base = planner.baseline
            let changed = try planner.setCredentials(credential, for: node)
            (event == "issue" ? metrics.certificatesIssued : metrics.certificatesRenewed).increment()
            try save()
            publish(changed, since: base)
        } catch {
            throw Failure(kind: .failedPrecondition, description: "recording the certificate failed: \(error)")
        }
        return issued.certificate
    }

    /// Checks a presented certificate: issued by this CA, valid, not revoked, the latest
    /// one issued to that node. Returns the node.
    public func authenticate(_ certificate: Certificate?) throws(Failure) -> String {
        guard let certificate else { throw Failure(kind: .unauthenticated, description: "no client certificate") }
        let node: String
        do { node = try ca.verifyNodeCertificate(certificate) } catch { throw Failure(kind: .unauthenticated, description: error.description) }
        guard !planner.structure.revoked.contains(node) else { throw Failure(kind: .permissionDenied, description: "node \(node) is revoked") }
        // Only the newest certificate of a node counts: one replaced by a renewal (or a
        // new join) is refused even before it expires.
        guard persisted.certificates[node]?.serial == "\(certificate.serialNumber)" else {
            throw Failure(kind: .unauthenticated, description: "certificate \(certificate.serialNumber) is not node \(node)'s current one")
        }
        return node
    }

    /// Revokes `node` at runtime (`weftctl revoke`): quarantined everywhere, its streams
    /// ended, its certificate refused from now on.
    /// Returns the nodes whose state changed, or nil when `node` was revoked already.
    /// The revocation is persisted: it outlives a restart and a cluster file that still
    /// lists the node as trusted.
    @discardableResult
    public func revoke(_ node: String) throws -> Set<String>? {
        guard fileSpec.nodes.contains(where: { $0.name == node }) else { throw Failure(kind: .notFound, description: "node \(node) is not in the cluster") }
        guard !planner.structure.revoked.contains(node) else { return nil }
        persisted.revoked.append(node)
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

    private func revoked(_ node: String, reason: String) throws {
        try audit.record("revoke", subject: node, detail: ["reason": reason, "serial": persisted.certificates[node]?.serial ?? "-"])
        for watcher in (watchers[node] ?? [:]).values {
            watcher.continuation.finish(throwing: Failure(kind: .permissionDenied, description: "node \(node) was revoked"))
        }
        watchers[node] = nil
        sent[node] = nil
        pendingSince[node] = nil
        metrics.setRevisionLag(node, 0)
        metrics.revocations.increment()
        countConnected()
    }

    private func countConnected() {
        metrics.connectedAgents.set(Double(watchers.values.filter { !$0.isEmpty }.count))
    }

    // MARK: distribution

    /// The node's stream: its snapshot now, then a delta whenever its state changes.
    public func watch(node: String) -> AsyncThrowingStream<WatchEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, Error>.makeStream(bufferingPolicy: .unbounded)
        let id = UUID()
        watchers[node, default: [:]][id] = Watcher(continuation: continuation)
        continuation.onTermination = { _ in Task { await self.unwatch(node, id) } }
        countConnected()
        if let state = planner.desiredState(for: node) {
            sent[node] = Planner.SentSections(state)
            continuation.yield(.snapshot(state))
        }
        return stream
    }

    private func unwatch(_ node: String, _ id: UUID) {
        watchers[node]?[id] = nil
        if watchers[node]?.isEmpty ?? false {
            watchers[node] = nil
            sent[node] = nil
        }
        countConnected()
    }

    /// Sends each watched node in `changed` its delta since `base` (O(what changed) per
    /// node: the shared peer table's change is computed once), or a snapshot when the
    /// node's streams were not at `base`'s revision (it just became active, say).
    private func publish(_ changed: Set<String>, since base: Planner.Baseline) {
        let now = Date()
        for node in changed {
            if pendingSince[node] == nil { pendingSince[node] = now }
            metrics.setRevisionLag(node, (planner.revisions[node] ?? 0) - min(applied[node] ?? 0, planner.revisions[node] ?? 0))
        }
        metrics.activeNodes.set(Double(planner.activeNodes.count))
        let watched = changed.filter { !(watchers[$0]?.isEmpty ?? true) }
        guard !watched.isEmpty else { return }
        let table = planner.peerTableChange(since: base)
        for node in watched {
            let event: WatchEvent
            if var record = sent[node], let delta = planner.delta(for: node, since: base, table: table, sent: &record) {
                sent[node] = record
                event = .delta(delta)
            } else if let state = planner.desiredState(for: node) {
                sent[node] = Planner.SentSections(state)
                event = .snapshot(state)
            } else {
                continue
            }
            for watcher in watchers[node, default: [:]].values { watcher.continuation.yield(event) }
        }
    }

    /// The node applied `revision`. When that is its current state, what it proves about
    /// the rotation is recorded (and may let other nodes move on).
    public func acknowledge(node: String, revision: UInt64, succeeded: Bool, softExpiredSPIs: [UInt32] = []) throws {
        let desired = planner.revisions[node] ?? 0
        // Above the desired revision is not this plan's (a stale or confused agent): ignored.
        if succeeded, revision <= desired { applied[node] = max(applied[node] ?? 0, revision) }
        metrics.setRevisionLag(node, desired - min(applied[node] ?? 0, desired))
        if succeeded, revision >= desired, let since = pendingSince.removeValue(forKey: node) {
            metrics.convergence.record(Date().timeIntervalSince(since))
        }
        if !softExpiredSPIs.isEmpty {
            try audit.record("soft-expiry", subject: node, detail: ["spis": softExpiredSPIs.map { String($0, radix: 16) }.joined(separator: ",")])
            // An SA reached its soft limit: rotate now rather than at the next interval
            // (a busy link exhausts an SA long before a daily rotation).
            if fileSpec.encryption.enabled { try rotate() }
        }
        guard succeeded, let state = planner.desiredState(for: node), state.revision == revision else { return }
        let facts = planner.rotation.facts(of: state)
        let epoch = planner.rotation.currentEpoch
        let base = planner.baseline
        let changed = planner.acknowledge(node: node, inboundEpoch: facts.inboundEpoch, outboundEpoch: facts.outboundEpoch)
        if planner.rotation.currentEpoch != epoch {
            try audit.record("epoch", detail: ["epoch": "\(planner.rotation.currentEpoch)", "state": "complete"])
            metrics.currentEpoch.set(Double(planner.rotation.currentEpoch))
        }
        if !changed.isEmpty { try save() }
        publish(changed, since: base)
    }

    /// Starts a key rotation (the controller's timer, or an operator).
    @discardableResult
    public func rotate() throws -> Bool {
        let base = planner.baseline
        let wasRotating = planner.rotation.rotating
        let changed = planner.startRotation()
        guard !wasRotating, planner.rotation.rotating else { return false }
        persisted.lastRotation = Date()
        try audit.record("epoch", detail: ["epoch": "\(planner.rotation.targetEpoch)", "state": "started",
                                           "spi-rule": "(epoch mod 256) << 24 | sender index << 8 | 0x57"])
        try save()
        metrics.rotationsStarted.increment()
        publish(changed, since: base)
        return true
    }

    /// The rotation timer's question: is a rotation due (`encryption.rotationSeconds` of
    /// the current cluster file since the last one started, counted across restarts)?
    /// Starts it when it is. Returns whether one started.
    @discardableResult
    public func rotateIfDue(now: Date = Date()) throws -> Bool {
        let interval = TimeInterval(fileSpec.encryption.rotationSeconds)
        guard fileSpec.encryption.enabled, interval > 0, !planner.rotation.rotating else { return false }
        guard let last = persisted.lastRotation else {
            persisted.lastRotation = now
            try save()
            return false
        }
        guard now.timeIntervalSince(last) >= interval else { return false }
        return try rotate()
    }

    public func status() -> (nodes: [NodeStatus], currentEpoch: UInt32, targetEpoch: UInt32) {
        let nodes = fileSpec.nodes.map(\.name).sorted().map { name in
            NodeStatus(name: name, desiredRevision: planner.revisions[name] ?? 0, appliedRevision: applied[name] ?? 0,
                       connected: !(watchers[name] ?? [:]).isEmpty, certificateExpires: persisted.certificates[name]?.expires,
                       inboundEpoch: planner.rotation.inboundReady[name] ?? 0, outboundEpoch: planner.rotation.outboundSwitched[name] ?? 0,
                       revoked: planner.structure.revoked.contains(name), joined: planner.credentials[name] != nil,
                       pendingSince: pendingSince[name])
        }
        return (nodes, planner.rotation.currentEpoch, planner.rotation.targetEpoch)
    }

    /// `node`'s current desired state (nil: not active).
    public func desiredState(for node: String) -> DesiredNodeState? { planner.desiredState(for: node) }

    public func createToken(node: String, ttl: TimeInterval) throws -> String { try tokens.create(node: node, ttl: ttl).token }

    public func checkpoint() throws { try audit.checkpoint() }

    /// Ends every open Watch stream (shutdown: the server waits for open calls to finish,
    /// and a watch never does by itself). Agents reconnect with backoff.
    public func endStreams() {
        for watcher in watchers.values.flatMap(\.values) { watcher.continuation.finish() }
        watchers = [:]
        sent = [:]
        countConnected()
    }
}
