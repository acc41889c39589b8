import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import WeftControlAPI

/// The agent's calls to the controller: `Join` on the join listener (server-authenticated
/// TLS, the token proves the node), everything else over mTLS on the node listener with
/// the node certificate.
public struct ControllerLink: Sendable {
    public let credentials: NodeCredentials
    public let controller: Endpoint
    public let joinEndpoint: Endpoint
    public let metrics: AgentMetrics
    public let logger: Logger

    public init(credentials: NodeCredentials, controller: Endpoint, joinEndpoint: Endpoint, metrics: AgentMetrics, logger: Logger) {
        self.credentials = credentials
        self.controller = controller
        self.joinEndpoint = joinEndpoint
        self.metrics = metrics
        self.logger = logger
    }

    /// Joins when there is no usable certificate yet (the token is needed then only).
    /// Returns whether it joined: a join told the controller the incarnation already.
    public func joinIfNeeded(token: () throws -> String?) async throws -> Bool {
        defer { noteExpiry() }
        guard credentials.certificatePEM == nil else { return false }
        guard let token = try token() else {
            throw DaemonError("no valid certificate in \(credentials.directory) and no --token or --token-file to join with")
        }
        var request = Weft_V1_JoinRequest()
        request.node = credentials.identity.name
        request.token = token
        request.csrPem = try credentials.identity.certificateSigningRequestPEM()
        request.incarnation = credentials.incarnation
        let sent = request
        let ca = Array(credentials.caPEM.utf8)
        let response = try await withGRPCClient(transport: .http2NIOPosix(
            target: joinEndpoint.target,
            transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(ca, format: .pem)]) })) { client in
            try await Weft_V1_Control.Client(wrapping: client).join(sent)
        }
        try credentials.store(certificate: response.certificatePem, ca: response.caPem)
        logger.info("joined", metadata: ["node": "\(credentials.identity.name)", "incarnation": "\(credentials.incarnation)"])
        return true
    }

    func noteExpiry() {
        if let expiry = credentials.certificateExpiry { metrics.certificateExpiry.set(expiry.timeIntervalSince1970) }
    }

    /// Runs `body` with an mTLS client on the controller's node listener.
    func withControl<T: Sendable>(_ body: @Sendable (Weft_V1_Control.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        guard let certificate = credentials.certificatePEM else { throw DaemonError("no node certificate yet (join first)") }
        let chain = Array(certificate.utf8), key = Array(credentials.identity.signingKey.pemRepresentation.utf8)
        let ca = Array(credentials.caPEM.utf8)
        return try await withGRPCClient(transport: .http2NIOPosix(
            target: controller.target,
            transportSecurity: .mTLS(certificateChain: [.bytes(chain, format: .pem)], privateKey: .bytes(key, format: .pem)) {
                $0.trustRoots = .certificates([.bytes(ca, format: .pem)])
            })) { client in
            try await body(Weft_V1_Control.Client(wrapping: client))
        }
    }
}
