import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import WeftControlAPI
import WeftPKI

/// The controller's two listeners. The node listener requires a client certificate from
/// the cluster CA (mTLS); the join listener only authenticates the server, because a
/// joining node has no certificate yet (its single-use token authenticates it). Both
/// present a server certificate the CA issues at start for `names` and `addresses`, with a
/// key that never leaves memory. Each listener bounds its connections (`Limits`).
public struct ControlServer: Sendable {
    /// What one peer, or all of them, may hold of the controller's listeners.
    public struct Limits: Sendable {
        /// Open connections per listener (agents hold one Watch connection each, and open
        /// short ones for acks and renewals). Beyond it a connection is closed on accept.
        public var nodeConnections = 8192
        public var joinConnections = 256
        /// A TLS handshake not done by then closes the connection.
        public var handshakeTimeout: TimeAmount = .seconds(10)
        /// A connection with no call open for this long is closed.
        public var idleTimeout: Duration = .seconds(120)
        /// Server keepalive pings find peers that vanished under an open Watch.
        public var keepaliveInterval: Duration = .seconds(60)
        public var keepaliveTimeout: Duration = .seconds(20)
        public init() {}
    }

    public let nodeGuard: ConnectionGuard
    public let joinGuard: ConnectionGuard
    /// When the listeners' server certificate expires (`serveRenewing` replaces it before).
    public let certificateExpires: Date
    let plane: ControlPlane
    public let node: GRPCServer<HTTP2ServerTransport.Posix>
    public let join: GRPCServer<HTTP2ServerTransport.Posix>
    /// The operator's socket (`AdminService`), when `adminSocket` is given.
    public let admin: GRPCServer<HTTP2ServerTransport.Posix>?
    public let adminSocket: String?

    public init(plane: ControlPlane, nodeListen: (host: String, port: Int), joinListen: (host: String, port: Int),
                names: [String] = ["weft-controller", "localhost"], addresses: [String] = ["127.0.0.1"], adminSocket: String? = nil,
                limits: Limits = Limits(), certificateLifetime: TimeInterval = 30 * 86400) throws {
        let key = P256.Signing.PrivateKey()
        let certificate = try plane.ca.issueServerCertificate(key: key, names: names, addresses: addresses, lifetime: certificateLifetime)
        certificateExpires = certificate.notValidAfter
        self.plane = plane
        let chain: [TLSConfig.CertificateSource] = [.bytes(Array(try certificate.serializeAsPEM().pemString.utf8), format: .pem)]
        let privateKey = TLSConfig.PrivateKeySource.bytes(Array(key.pemRepresentation.utf8), format: .pem)
        let caPEM = Array(plane.ca.certificatePEM.utf8)
        let service = ControlService(plane: plane)
        let metrics = plane.metrics
        nodeGuard = ConnectionGuard(limit: limits.nodeConnections, handshakeTimeout: limits.handshakeTimeout) { metrics.connectionsRefused.increment() }
        joinGuard = ConnectionGuard(limit: limits.joinConnections, handshakeTimeout: limits.handshakeTimeout) { metrics.connectionsRefused.increment() }
        node = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: nodeListen.host, port: nodeListen.port),
                transportSecurity: .mTLS(certificateChain: chain, privateKey: privateKey) { tls in
                    tls.trustRoots = .certificates([.bytes(caPEM, format: .pem)])
                    tls.clientCertificateVerification = .noHostnameVerification
                },
                config: Self.transportConfig(limits, payload: RequestLimits.nodePayload, guard: nodeGuard)),
            services: [service])
        join = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: joinListen.host, port: joinListen.port),
                transportSecurity: .tls(certificateChain: chain, privateKey: privateKey),
                config: Self.transportConfig(limits, payload: RequestLimits.joinPayload, guard: joinGuard)),
            services: [JoinOnlyService(service: service)])
        self.adminSocket = adminSocket
        if let adminSocket {
            try Self.prepareSocketPath(adminSocket)
            admin = GRPCServer(transport: .http2NIOPosix(address: .unixDomainSocket(path: adminSocket), transportSecurity: .plaintext),
                               services: [AdminService(plane: plane)])
        } else {
            admin = nil
        }
    }

    static func transportConfig(_ limits: Limits, payload: Int, guard connections: ConnectionGuard) -> HTTP2ServerTransport.Posix.Config {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.rpc.maxRequestPayloadSize = payload
        config.connection.maxIdleTime = limits.idleTimeout
        // Shutdown and max-idle close gracefully, but never wait longer than this.
        config.connection.maxGraceTime = .seconds(5)
        config.connection.keepalive.time = limits.keepaliveInterval
        config.connection.keepalive.timeout = limits.keepaliveTimeout
        config.http2.maxConcurrentStreams = 64
        config.channelDebuggingCallbacks.onAcceptTCPConnection = connections.accept
        return config
    }

    /// The socket's directory must be private (0700, ours) before the socket exists: the
    /// socket file is created by bind() with the umask's mode, and its directory is what
    /// keeps others out until it is chmod'ed 0600. A directory this creates is made 0700;
    /// an existing one that others can enter is refused, never chmod'ed (it may be a
    /// shared directory like /run). A stale socket from a previous run goes.
    static func prepareSocketPath(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        var info = stat()
        if stat(directory, &info) != 0 {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard stat(directory, &info) == 0 else { throw SocketPathError(description: "cannot create \(directory): \(String(cString: strerror(errno)))") }
        }
        guard info.st_uid == geteuid() else {
            throw SocketPathError(description: "admin socket directory \(directory) must be owned by this user (uid \(geteuid()))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw SocketPathError(description: "admin socket directory \(directory) is open to others (mode \(String(info.st_mode & 0o777, radix: 8))): give the socket a directory of its own, mode 0700")
        }
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else { throw SocketPathError(description: "\(path) exists and is not a socket") }
            guard !someoneListens(on: path) else { throw SocketPathError(description: "another controller is serving on \(path)") }
            unlink(path)
        }
    }

    /// Whether a connection to the Unix socket at `path` is accepted (a live controller).
    static func someoneListens(on path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }

    public struct SocketPathError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Serves both listeners until cancelled.
    public func serve() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await node.serve() }
            group.addTask { try await join.serve() }
            if let admin, let adminSocket {
                group.addTask { try await admin.serve() }
                group.addTask {
                    _ = try await admin.listeningAddress
                    chmod(adminSocket, 0o600)
                }
            }
        }
    }

    public func beginGracefulShutdown() {
        node.beginGracefulShutdown()
        join.beginGracefulShutdown()
        admin?.beginGracefulShutdown()
    }
}

/// The join listener offers Join only: without a client certificate every other call
/// would fail authentication anyway, but it is clearer to refuse it by name.
struct JoinOnlyService: Weft_V1_Control.SimpleServiceProtocol {
    let service: ControlService

    func join(request: Weft_V1_JoinRequest, context: ServerContext) async throws -> Weft_V1_JoinResponse {
        try await service.join(request: request, context: context)
    }
    func renew(request: Weft_V1_RenewRequest, context: ServerContext) async throws -> Weft_V1_RenewResponse { throw Self.nodeListenerOnly }
    func watch(request: Weft_V1_WatchRequest, response: RPCWriter<Weft_V1_WatchUpdate>, context: ServerContext) async throws { throw Self.nodeListenerOnly }
    func ack(request: Weft_V1_AckRequest, context: ServerContext) async throws -> Weft_V1_AckResponse { throw Self.nodeListenerOnly }
    func status(request: Weft_V1_StatusRequest, context: ServerContext) async throws -> Weft_V1_StatusResponse { throw Self.nodeListenerOnly }

    static let nodeListenerOnly = RPCError(code: .unauthenticated, message: "the join listener serves Join only; use the node listener with a node certificate")
}
