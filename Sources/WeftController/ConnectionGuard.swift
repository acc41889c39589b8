import Foundation
import NIOCore
import NIOSSL
import NIOTLS
import WeftMetrics

/// Bounds on a TCP listener's connections, before gRPC sees them: at most `limit` open at
/// once (one more is closed as soon as it is accepted), and a TLS handshake that must be
/// done `handshakeTimeout` after accept (a silent or trickling peer is closed). Together
/// with gRPC's idle and keepalive settings (`ControlServer.transportConfig`) no peer can
/// hold a descriptor the controller did not agree to, and shutdown never waits for one
/// that never spoke.
public final class ConnectionGuard: Sendable {
    public let connections: ConnectionLimit
    public let handshakeTimeout: TimeAmount
    let refused: @Sendable () -> Void

    public init(limit: Int, handshakeTimeout: TimeAmount = .seconds(10), refused: @escaping @Sendable () -> Void = {}) {
        connections = ConnectionLimit(limit)
        self.handshakeTimeout = handshakeTimeout
        self.refused = refused
    }

    /// Connections open now.
    public var count: Int { connections.count }

    /// The accepted-connection hook (`ChannelDebuggingCallbacks.onAcceptTCPConnection`):
    /// runs in the connection's initializer, after the TLS and gRPC handlers are in place
    /// and before the connection is active.
    @Sendable public func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        guard connections.admit(channel) else {
            refused()
            channel.close(promise: nil)
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            // Plaintext listeners (the admin socket) have no handshake to wait for.
            guard let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) else { return }
            try pipeline.addHandler(HandshakeDeadline(timeout: handshakeTimeout), position: .after(tls))
        }
    }
}

/// Closes the connection unless the TLS handshake completes within `timeout` of its start,
/// then gets out of the way.
final class HandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var done = false

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            done = true
            timer?.cancel()
            timer = nil
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil, !done else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
    }
}
