import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WeftControlAPI
import WeftPKI

/// The controller's two listeners. The node listener requires a client certificate from
/// the cluster CA (mTLS); the join listener only authenticates the server, because a
/// joining node has no certificate yet (its single-use token authenticates it). Both
/// present a server certificate the CA issues at start for `names` and `addresses`, with a
/// key that never leaves memory.
public struct ControlServer: Sendable {
    public let node: GRPCServer<HTTP2ServerTransport.Posix>
    public let join: GRPCServer<HTTP2ServerTransport.Posix>

    public init(plane: ControlPlane, nodeListen: (host: String, port: Int), joinListen: (host: String, port: Int),
                names: [String] = ["weft-controller", "localhost"], addresses: [String] = ["127.0.0.1"]) throws {
        let key = P256.Signing.PrivateKey()
        let certificate = try plane.ca.issueServerCertificate(key: key, names: names, addresses: addresses)
        let chain: [TLSConfig.CertificateSource] = [.bytes(Array(try certificate.serializeAsPEM().pemString.utf8), format: .pem)]
        let privateKey = TLSConfig.PrivateKeySource.bytes(Array(key.pemRepresentation.utf8), format: .pem)
        let caPEM = Array(plane.ca.certificatePEM.utf8)
        let service = ControlService(plane: plane)
        node = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: nodeListen.host, port: nodeListen.port),
                transportSecurity: .mTLS(certificateChain: chain, privateKey: privateKey) { tls in
                    tls.trustRoots = .certificates([.bytes(caPEM, format: .pem)])
                    tls.clientCertificateVerification = .noHostnameVerification
                }),
            services: [service])
        join = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: joinListen.host, port: joinListen.port),
                transportSecurity: .tls(certificateChain: chain, privateKey: privateKey)),
            services: [JoinOnlyService(service: service)])
    }

    /// Serves both listeners until cancelled.
    public func serve() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await node.serve() }
            group.addTask { try await join.serve() }
        }
    }

    public func beginGracefulShutdown() {
        node.beginGracefulShutdown()
        join.beginGracefulShutdown()
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
