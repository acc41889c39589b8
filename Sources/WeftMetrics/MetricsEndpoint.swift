import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// The daemons' scrape and probe endpoint: `GET /metrics` (Prometheus text exposition of
/// `registry`) and `GET /healthz` (200 "ok", or 503 with the reason `health` gives).
/// HTTP/1.1 on SwiftNIO, every connection served on its own and at once: a silent or slow
/// client holds only its own connection, closed after `idleTimeout` without a request, so
/// it can never make a liveness probe wait. At most `connectionLimit` connections are open
/// (more are closed on accept) and a request larger than `requestLimit` is refused with
/// 413: what a peer can hold of the daemon is bounded.
public final class MetricsEndpoint: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let registry: PrometheusCollectorRegistry
    /// nil: healthy; otherwise why not.
    let health: @Sendable () -> String?
    let idleTimeout: TimeAmount
    let connections: ConnectionLimit
    let requestLimit: Int
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    public init(registry: PrometheusCollectorRegistry, health: @escaping @Sendable () -> String?,
                idleTimeout: TimeAmount = .seconds(10), connectionLimit: Int = 256, requestLimit: Int = 16 << 10) {
        self.registry = registry
        self.health = health
        self.idleTimeout = idleTimeout
        connections = ConnectionLimit(connectionLimit)
        self.requestLimit = requestLimit
    }

    /// Listens on `host:port` (an IPv4 address; 127.0.0.1 keeps it on the machine) and
    /// serves on NIO's event loops until `stop()` or the process ends. Returns once it
    /// listens; throws when it cannot, naming why.
    public func serve(host: String, port: UInt16) throws {
        guard (try? SocketAddress(ipAddress: host, port: Int(port))) != nil else {
            throw Failure(description: "metrics: \"\(host)\" is not an IP address")
        }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] child in admit(child) }
        do {
            let bound = try bootstrap.bind(host: host, port: Int(port)).wait()
            channel.withLockedValue { $0 = bound }
        } catch {
            throw Failure(description: "metrics: cannot listen on \(host):\(port): \(error)")
        }
    }

    /// The port it listens on (0 before `serve`): tests bind port 0.
    public var port: Int { channel.withLockedValue { $0?.localAddress?.port ?? 0 } }

    /// Stops listening; open connections finish their request.
    public func stop() {
        channel.withLockedValue { $0?.close(promise: nil); $0 = nil }
    }

    private func admit(_ child: any Channel) -> EventLoopFuture<Void> {
        guard connections.admit(child) else { return child.close() }
        return child.eventLoop.makeCompletedFuture {
            let pipeline = child.pipeline.syncOperations
            try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
            try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
            try pipeline.addHandler(MetricsRequestHandler(endpoint: self))
        }
    }

    /// The answer to `GET path`.
    func respond(to path: Substring) -> (HTTPResponseStatus, [UInt8]) {
        switch path {
        case "/metrics": return (.ok, registry.emitToBuffer())
        case "/healthz":
            if let problem = health() { return (.serviceUnavailable, Array((problem + "\n").utf8)) }
            return (.ok, Array("ok\n".utf8))
        default: return (.notFound, Array("not found\n".utf8))
        }
    }
}

/// One connection: one request, one answer, then the connection closes.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let endpoint: MetricsEndpoint
    private var head: HTTPRequestHead?
    private var size = 0
    private var answered = false

    init(endpoint: MetricsEndpoint) { self.endpoint = endpoint }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
            size = request.uri.utf8.count + request.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        case .body(let bytes):
            size += bytes.readableBytes
        case .end:
            guard let head else { return }
            let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let (status, body) = head.method == .GET ? endpoint.respond(to: path) : (.methodNotAllowed, Array("GET only\n".utf8))
            answer(context, status, body)
            return
        }
        if size > endpoint.requestLimit { answer(context, .payloadTooLarge, Array("request too large\n".utf8)) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil); return }
        context.fireUserInboundEventTriggered(event)
    }

    private func answer(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ body: [UInt8]) {
        answered = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
