import Crypto
import Foundation
import NIOConcurrencyHelpers
import WeftFiles
import WeftKubernetes
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
        public enum Kind: Sendable { case unauthenticated, permissionDenied, invalidArgument, failedPrecondition, notFound, unavailable, resourceExhausted }
        public var kind: Kind
        /// What the caller is told.
        public var description: String
        /// What the audit log is told when it differs (a join refused for an unknown node
        /// tells the caller only that the join was refused).
        var logged: String? = nil
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
        /// Serials of certificates revoked or retired (their node was revoked or left the
        /// cluster) → when they expire: refused for good, whatever the cluster file says
        /// later; forgotten once expired, when the CA check refuses them anyway.
        var retiredSerials: [String: Date]? = nil
        /// Nodes that left the cluster file with a certificate (they can still be revoked).
        var formerNodes: Set<String>? = nil
        /// When a soft-expiry report last started a rotation (at most one a minute).
        var lastSoftExpiryRotation: Date? = nil
    }

    public struct CertificateRecord: Codable, Sendable, Hashable {
        public var serial: String
        public var expires: Date
        /// The certificate this one renewed, still accepted until this one is first used:
        /// a renewal whose answer was lost can be retried with the old certificate.
        public var previous: String? = nil
    }

    public nonisolated let stateDirectory: String
    public nonisolated let ca: ClusterCA
    public nonisolated let metrics = ControllerMetrics()
    nonisolated let tokens: JoinTokens
    nonisolated let audit: AuditLog
    /// Refused requests reach the audit log at a bounded rate.
    nonisolated let refusals = RefusalBudget()
    /// Watch snapshots built and sent at once, whatever the number of agents connecting.
    public nonisolated let snapshots = SnapshotGate(limit: ControlPlane.snapshotsAtOnce)
    /// With the Kubernetes source: the review that lets agents join with their
    /// service-account tokens (nil: join tokens only).
    public nonisolated let serviceAccountJoins = NIOLockedValueBox<ServiceAccountReview?>(nil)
    public static let snapshotsAtOnce = 8
    /// How long one snapshot's write may hold its permit.
    public static let snapshotLease: Duration = .seconds(10)
    private nonisolated let directoryLock: DirectoryLock
    var planner: Planner
    var persisted: Persisted
    /// The file's spec, before runtime revocations are added to it, and its node names.
    var fileSpec: ClusterSpec { didSet { fileNodes = Set(fileSpec.nodes.map(\.name)) } }
    var fileNodes: Set<String>
    /// One live stream per node (a newer Watch replaces an older one).
    var watchers: [String: Watcher] = [:]
    /// Per watched node: what its stream was last sent. Deltas are computed against it.
    var sent: [String: Planner.SentSections] = [:]
    var applied: [String: UInt64] = [:]
    /// Node → when its desired state first got ahead of what it acknowledged.
    var pendingSince: [String: Date] = [:]
    /// Each node's last reported failures, in memory only (the next ack replaces them).
    var lastFailures: [String: ReportedFailures] = [:]
    /// Joins waiting for the group being gathered (see `commitInGroup`).
    var pendingJoins: [(join: CheckedJoin, reply: CheckedContinuation<JoinResult, Never>)] = []
    var gatheringJoins = false
    /// Nodes whose network was last reported ready, and who hears of it (ControlPlane+Readiness).
    var networkReady: Set<String> = []
    var readinessObserver: (@Sendable (NetworkReadiness) -> Void)?

    public init(stateDirectory: String, spec: ClusterSpec) throws {
        self.stateDirectory = stateDirectory
        // First: a second controller on this directory stops here, before it reads or
        // writes anything.
        directoryLock = try DirectoryLock(directory: stateDirectory)
        let (ca, created) = try ClusterCA.loadOrCreate(directory: stateDirectory, clusterName: spec.cluster.name)
        self.ca = ca
        tokens = try JoinTokens(path: stateDirectory + "/tokens.json")
        audit = try AuditLog(path: stateDirectory + "/audit.log", ca: ca)
        if let data = try SecureFile.load(stateDirectory + "/controller.json") {
            do { persisted = try JSONDecoder.weft.decode(Persisted.self, from: Data(data)) } catch {
                throw Failure(kind: .failedPrecondition, description: "\(stateDirectory)/controller.json does not decode (\(error)); refusing to start over it")
            }
        } else {
            persisted = Persisted()
        }
        fileSpec = spec
        fileNodes = Set(spec.nodes.map(\.name))
        planner = try Planner(spec: Self.effective(spec, revoked: persisted.revoked), allocations: persisted.allocations,
                              credentials: persisted.credentials, rotation: persisted.rotation)
        planner.continueRevisions(after: persisted.revisions)
        if created { try audit.record("ca-created", detail: ["subject": "\(ca.certificate.subject)"]) }
        try audit.record("spi-rule", detail: ["rule": "(epoch mod 256) << 24 | sender index << 8 | 0x57", "epoch": "\(planner.rotation.currentEpoch)"])
        persisted = try Self.write(persisted, planner, to: stateDirectory)
        try Self.saveLastGood(spec, in: stateDirectory)
        metrics.currentEpoch.set(Double(planner.rotation.currentEpoch))
        metrics.activeNodes.set(Double(planner.activeNodes.count))
        metrics.policyPartsUnenforced.set(Double(planner.unenforcedPolicy.count))
    }

    /// Gives up the state directory (a controller stopping; tests that restart one in
    /// the same process). The plane must not be used after.
    public nonisolated func close() { directoryLock.release() }

    /// Audit entries found past the last checkpoint at start (see `AuditLog`).
    public nonisolated var unattestedAuditTail: ClosedRange<UInt64>? { audit.unattestedAtStart }

    // MARK: the last good cluster spec

    static let lastGoodFile = "cluster.last-good.json"

    /// The last cluster spec this controller planned, kept in the state directory so a
    /// start with a cluster file that is refused (an edit half done) runs on it instead of
    /// not starting. nil: none kept yet.
    public static func lastGoodSpec(in directory: String) throws -> ClusterSpec? {
        guard let bytes = try SecureFile.load(directory + "/" + lastGoodFile) else { return nil }
        return try JSONDecoder.weft.decode(ClusterSpec.self, from: Data(bytes))
    }

    static func saveLastGood(_ spec: ClusterSpec, in directory: String) throws {
        try SecureFile.write(Array(try JSONEncoder.weft.encode(spec)), to: directory + "/" + lastGoodFile)
    }

    static func effective(_ spec: ClusterSpec, revoked: [String]) -> ClusterSpec {
        var spec = spec
        spec.revoked = Array(Set(spec.revoked + revoked.filter { name in spec.nodes.contains { $0.name == name } })).sorted()
        return spec
    }

    func save() throws {
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

    func update(spec: ClusterSpec, reason: String) throws -> Set<String> {
        let before = Set(planner.structure.revoked)
        let base = planner.baseline
        let changed = try planner.update(to: Self.effective(spec, revoked: persisted.revoked))
        let removed = fileNodes.subtracting(spec.nodes.map(\.name))
        let specChanged = spec != fileSpec
        fileSpec = spec
        for node in Set(planner.structure.revoked).subtracting(before) { try revoked(node, reason: reason) }
        for node in removed.sorted() { try retired(node) }
        try save()
        if specChanged { try Self.saveLastGood(spec, in: stateDirectory) }
        countUnenforcedPolicy()
        publish(changed, since: base)
        return changed
    }

    /// `node`'s current desired state (nil: not active).
    public func desiredState(for node: String) -> DesiredNodeState? { planner.desiredState(for: node) }

    public func createToken(node: String, ttl: TimeInterval) throws -> String { try issueToken(node: node, ttl: ttl).token }

    /// A single-use join token for `node` (Admin.CreateToken): the controller is the only
    /// writer of its token store. Audited by id; the secret is only in the answer.
    public func issueToken(node: String, ttl: TimeInterval, now: Date = Date()) throws -> (token: String, id: String, expires: Date) {
        let (token, id) = try tokens.create(node: node, ttl: ttl, now: now)
        let expires = now.addingTimeInterval(ttl)
        try audit.record("token", subject: node, detail: ["id": id, "expires": ISO8601DateFormatter().string(from: expires)], now: now)
        return (token, id, expires)
    }

    /// Tokens for many nodes with one write of the token store.
    public func createTokens(nodes: [String], ttl: TimeInterval) throws -> [String] { try tokens.create(nodes: nodes, ttl: ttl).map(\.token) }

    public func checkpoint() throws { try audit.checkpoint() }

}
