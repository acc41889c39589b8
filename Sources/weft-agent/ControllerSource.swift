import Crypto
import Dispatch
import Foundation
import WeftFiles
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import WeftControlAPI
import WeftModel
import WeftPKI
import X509

/// The desired state from the controller instead of a file: join (once, with the token),
/// watch (snapshot, then deltas), acknowledge every reconcile, renew the certificate at
/// two thirds of its life. Each received state is written to `STATE_DIR/desired.json` and
/// wakes the reconcile loop, which reads it like any file: the last applied state stays in
/// force while the controller is away, across agent restarts too. Reconnects with backoff.
///
/// Files in the state directory: `node.key` and `kex.key` (the signing and key-agreement
/// private keys, 0600, created here and never sent anywhere), `node.crt`, `ca.crt`,
/// `incarnation` (per boot), `desired.json` (0600), `sa-ledger`.
final class ControllerSource: @unchecked Sendable {
    let options: Options
    let logger: Logger
    let identity: NodeIdentity
    let incarnation: String
    /// The incarnation was made at this start (a reboot, or a first start): the controller
    /// still plans keys for the old one until it hears of this one.
    let freshIncarnation: Bool
    let caPEM: String
    let metrics: AgentMetrics
    private let lock = NSLock()
    private var certificatePEM: String
    private var wake: DispatchSemaphore?
    /// Joined at this start: the join told the controller the incarnation already.
    private var joinedNow = false

    var directory: String { options.stateDirectory }
    static func desiredPath(_ options: Options) -> String { options.stateDirectory + "/desired.json" }
    static func keyPath(_ options: Options) -> String { options.stateDirectory + "/kex.key" }

    /// Loads or creates the keys and the incarnation, and joins when there is no usable
    /// certificate yet. Blocks until it has one (or fails).
    init(options: Options, logger: Logger, metrics: AgentMetrics) throws {
        self.options = options
        self.logger = logger
        self.metrics = metrics
        let dir = options.stateDirectory
        let signing: P256.Signing.PrivateKey = try Self.key(dir + "/node.key", make: { P256.Signing.PrivateKey() }, pem: \.pemRepresentation,
                                                             load: { try P256.Signing.PrivateKey(pemRepresentation: $0) })
        let kex: P256.KeyAgreement.PrivateKey = try Self.key(dir + "/kex.key", make: { P256.KeyAgreement.PrivateKey() }, pem: \.pemRepresentation,
                                                              load: { try P256.KeyAgreement.PrivateKey(pemRepresentation: $0) })
        identity = NodeIdentity(name: options.nodeName!, signingKey: signing, keyAgreementKey: kex)
        (incarnation, freshIncarnation) = try Self.incarnation(dir + "/incarnation")
        guard let ca = SecureFile.read(options.caFile!) else { throw UsageError(message: "cannot read --ca \(options.caFile!)") }
        caPEM = ca
        if let pem = SecureFile.read(dir + "/node.crt"), let certificate = try? Certificate(pemEncoded: pem), certificate.notValidAfter > Date() {
            certificatePEM = pem
        } else {
            guard let token = try options.joinToken() else {
                throw UsageError(message: "no valid certificate in \(dir) and no --token or --token-file to join with")
            }
            certificatePEM = ""
            joinedNow = true
            certificatePEM = try blocking { try await self.join(token: token) }
            logger.info("joined", metadata: ["node": "\(identity.name)", "incarnation": "\(incarnation)"])
        }
        noteExpiry(certificatePEM)
    }

    private func noteExpiry(_ pem: String) {
        if let certificate = try? Certificate(pemEncoded: pem) { metrics.certificateExpiry.set(certificate.notValidAfter.timeIntervalSince1970) }
    }

    /// Starts watching and renewing; `wake` is signalled whenever desired.json changes.
    func start(wake: DispatchSemaphore) {
        lock.withLock { self.wake = wake }
        Task.detached { await self.watchForever() }
        Task.detached { await self.renewForever() }
    }

    // MARK: keys, incarnation

    private static func key<K>(_ path: String, make: () -> K, pem: KeyPath<K, String>, load: (String) throws -> K) throws -> K {
        // Unreadable is not missing: a key that exists is never replaced by a new one.
        let existing: String?
        do { existing = try SecureFile.loadText(path, limit: 64 << 10) } catch { throw UsageError(message: "\(error)") }
        if let text = existing {
            do { return try load(text) } catch { throw UsageError(message: "\(path) is not a PEM P-256 private key") }
        }
        let key = make()
        try SecureFile.write(key[keyPath: pem] + "\n", to: path, mode: 0o600)
        return key
    }

    /// A new random value whenever the machine booted since the last one: SAs do not
    /// survive a reboot, so the keys of their successors must differ (docs/desired-state.md).
    private static func incarnation(_ path: String) throws -> (value: String, fresh: Bool) {
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        if let text = SecureFile.read(path) {
            let parts = text.split(separator: " ")
            if parts.count == 2, parts[0] == boot { return (String(parts[1]), false) }
        }
        var generator = SystemRandomNumberGenerator()
        let value = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try SecureFile.write("\(boot) \(value)\n", to: path, mode: 0o600)
        return (value, true)
    }

    // MARK: calls

    private func join(token: String) async throws -> String {
        var request = Weft_V1_JoinRequest()
        request.node = identity.name
        request.token = token
        request.csrPem = try identity.certificateSigningRequestPEM()
        request.incarnation = incarnation
        let sent = request
        let ca = Array(caPEM.utf8)
        let response = try await withGRPCClient(transport: .http2NIOPosix(
            target: Options.target(options.joinEndpoint!),
            transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(ca, format: .pem)]) })) { client in
            try await Weft_V1_Control.Client(wrapping: client).join(sent)
        }
        try SecureFile.write(response.certificatePem, to: directory + "/node.crt", mode: 0o644)
        try SecureFile.write(response.caPem, to: directory + "/ca.crt", mode: 0o644)
        return response.certificatePem
    }

    /// Runs `body` with an mTLS client on the controller's node listener.
    private func withControl<T: Sendable>(_ body: @Sendable (Weft_V1_Control.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let chain = Array(lock.withLock { certificatePEM }.utf8), key = Array(identity.signingKey.pemRepresentation.utf8), ca = Array(caPEM.utf8)
        return try await withGRPCClient(transport: .http2NIOPosix(
            target: Options.target(options.controller!),
            transportSecurity: .mTLS(certificateChain: [.bytes(chain, format: .pem)], privateKey: .bytes(key, format: .pem)) {
                $0.trustRoots = .certificates([.bytes(ca, format: .pem)])
            })) { client in
            try await body(Weft_V1_Control.Client(wrapping: client))
        }
    }

    private func watchForever() async {
        var backoff = 1.0
        while !Task.isCancelled {
            do {
                let received = try await withControl { control in
                    try await control.watch(Weft_V1_WatchRequest()) { response in
                        try await self.follow(response.messages)
                    }
                }
                logger.warning("controller ended the stream; reconnecting")
                // A stream that delivered its snapshot was a good one: the next reconnect
                // starts again from the shortest wait, not from where the last outage left it.
                if received { backoff = 1 }
            } catch {
                logger.warning("controller unreachable; the last applied state stays in force",
                               metadata: ["error": "\(error)", "retry_s": "\(backoff)"])
            }
            metrics.controllerReconnects.increment()
            try? await Task.sleep(for: .seconds(backoff))
            backoff = min(backoff * 2, 30)
        }
    }

    /// Applies a stream's updates to desired.json as they come. Returns whether any came.
    private func follow(_ messages: RPCAsyncSequence<Weft_V1_WatchUpdate, any Error>) async throws -> Bool {
        var state: DesiredNodeState?
        var received = false
        metrics.controllerConnected.set(Int64(1))
        defer { metrics.controllerConnected.set(Int64(0)) }
        do {
            for try await update in messages {
                switch update.update {
                case .snapshot(let data)?:
                    state = try DesiredNodeState.decode(data)
                    metrics.controllerSnapshots.increment()
                case .delta(let data)?:
                    guard let current = state else { throw RPCError(code: .dataLoss, message: "a delta before any snapshot") }
                    state = try current.applying(try JSONDecoder().decode(DesiredStateDelta.self, from: data))
                    metrics.controllerDeltas.increment()
                case nil: continue
                }
                received = true
                try SecureFile.write(Array(try state!.encoded()), to: Self.desiredPath(options), mode: 0o600)
                lock.withLock { wake }?.signal()
            }
        } catch where received {
            // The stream broke after it had worked: reconnect soon.
            logger.warning("watch stream ended", metadata: ["error": "\(error)"])
        }
        return received
    }

    /// Reports a reconcile to the controller (best effort: the next one reports again).
    func acknowledge(_ state: DesiredNodeState, report: ReconcileReportSummary, softExpired: [UInt32]) {
        var request = Weft_V1_AckRequest()
        request.revision = state.revision
        request.succeeded = report.succeeded
        request.failures = report.failures
        request.installedSpis = report.installedSPIs
        request.softExpiredSpis = softExpired
        let sent = request
        Task.detached {
            do { _ = try await self.withControl { try await $0.ack(sent) } } catch {
                self.metrics.acksFailed.increment()
                self.logger.debug("ack not delivered", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Renews at two thirds of the certificate's life, with the same keys; at once when
    /// this boot made a new incarnation and the certificate predates it (the renewal
    /// carries the incarnation, and the peers' keys follow it: the old SAs died with the
    /// old boot, and the ledger refuses the old keys).
    private func renewForever() async {
        var announce = freshIncarnation && !joinedNow
        while !Task.isCancelled {
            let pem = lock.withLock { certificatePEM }
            guard let certificate = try? Certificate(pemEncoded: pem) else { return }
            let life = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
            let due = announce ? Date() : certificate.notValidBefore.addingTimeInterval(life * 2 / 3)
            if !announce { try? await Task.sleep(for: .seconds(max(5, due.timeIntervalSinceNow))) }
            do {
                var request = Weft_V1_RenewRequest()
                request.csrPem = try identity.certificateSigningRequestPEM()
                request.incarnation = incarnation
                let sent = request
                let renewed = try await withControl { try await $0.renew(sent).certificatePem }
                try SecureFile.write(renewed, to: directory + "/node.crt", mode: 0o644)
                lock.withLock { certificatePEM = renewed }
                noteExpiry(renewed)
                logger.info("certificate renewed", metadata: announce ? ["reason": "new incarnation", "incarnation": "\(incarnation)"] : [:])
                announce = false
            } catch {
                logger.warning("renewal failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(30))
            }
        }
    }
}

/// What the controller hears about one reconcile.
struct ReconcileReportSummary: Sendable {
    var succeeded: Bool
    var failures: [String]
    var installedSPIs: [UInt32]
}

/// Runs async work from the synchronous start-up path (before the loop owns the thread).
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, Error>!
    Task.detached {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result.get()
}
