import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import WeftCNI
import WeftMetrics

/// The agent's CNI socket as a service: a Unix stream socket (mode 0600: only root, as the
/// runtime runs plugins) where weft-cni sends one request per connection (`AgentWire`).
/// Requests are served at once, each on one of the server's own kernel threads (`CNIHandler`
/// blocks on netlink and fsync); a peer is bounded in size (`AgentWire.maxRequest`), in
/// time (`readTimeout` to send its request) and in number (`connectionLimit`). Shutdown
/// stops accepting; requests already read finish.
public final class CNIServer: Service, Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable { public var description: String }

    public let path: String
    let handler: CNIHandler
    let threads: NIOThreadPool
    let readTimeout: TimeAmount
    let connections: ConnectionLimit
    private let channel: any Channel

    /// Listens on `path` from the moment it is made (a stale socket file is replaced; any
    /// other file there is refused), so a path that cannot be used fails the start.
    init(path: String, handler: CNIHandler, threads: Int = 4, readTimeout: TimeAmount = .seconds(5), connectionLimit: Int = 64) throws {
        self.path = path
        self.handler = handler
        self.threads = NIOThreadPool(numberOfThreads: threads)
        self.readTimeout = readTimeout
        connections = ConnectionLimit(connectionLimit)
        try Self.prepare(path)
        let connections = connections, timeout = readTimeout, pool = self.threads
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            .childChannelInitializer { child in
                guard connections.admit(child) else { return child.close() }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: timeout))
                    try child.pipeline.syncOperations.addHandler(CNIConnection(handler: handler, threads: pool))
                }
            }
        do {
            channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        } catch {
            throw Failure(description: "CNI: cannot listen on \(path): \(error)")
        }
        guard chmod(path, 0o600) == 0 else { throw Failure(description: "CNI: cannot chmod 0600 \(path): \(errnoString())") }
        self.threads.start()
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try? await channel.close()
        try? await threads.shutdownGracefully()
        unlink(path)
    }

    /// The socket's directory exists (made 0700 when Weft makes it) and nothing but a
    /// socket is in the way.
    static func prepare(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var info = stat()
        if lstat(path, &info) == 0 && info.st_mode & S_IFMT != S_IFSOCK {
            throw Failure(description: "CNI: \(path) exists and is not a socket; refusing to replace it")
        }
    }
}

private func errnoString() -> String { String(cString: strerror(errno)) }

/// One connection: the header line, the body, one answer, close.
final class CNIConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let handler: CNIHandler
    private let threads: NIOThreadPool
    private var bytes: [UInt8] = []
    private var body: (start: Int, length: Int)?
    private var answered = false

    init(handler: CNIHandler, threads: NIOThreadPool) {
        self.handler = handler
        self.threads = threads
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var buffer = unwrapInboundIn(data)
        bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            if body == nil, let newline = bytes.prefix(AgentWire.maxHeader + 1).firstIndex(of: 0x0a) {
                body = (newline + 1, try AgentWire.bodyLength(header: Array(bytes[..<newline])))
            } else if body == nil && bytes.count > AgentWire.maxHeader {
                throw CNIError(CNIError.decodeFailure, "no \(AgentWire.protocolName) header line in the first \(AgentWire.maxHeader) bytes")
            }
            guard let body, bytes.count - body.start >= body.length else { return }
            let request = try AgentWire.decodeRequest(Array(bytes[body.start..<(body.start + body.length)]))
            answered = true
            bytes = []
            let handler = handler, bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            threads.runIfActive(eventLoop: context.eventLoop) { handler.handle(request) }.whenComplete { result in
                let reply = (try? result.get()) ?? AgentWire.Reply(error: CNIError(CNIError.tryAgainLater, "weft-agent is shutting down; try again later"),
                                                                  version: CNIVersion.newest)
                bound.value.0.answer(bound.value.1, reply)
            }
        } catch let error as CNIError {
            answered = true
            answer(context, AgentWire.Reply(error: error, version: CNIVersion.newest))
        } catch {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Idle while its request is being served is not idle.
        if event is IdleStateHandler.IdleStateEvent { if !answered { context.close(promise: nil) }; return }
        context.fireUserInboundEventTriggered(event)
    }

    private func answer(_ context: ChannelHandlerContext, _ reply: AgentWire.Reply) {
        let out = context.channel.allocator.buffer(bytes: AgentWire.encodeReply(reply))
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
