import Logging
import Netlink
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Reads one netlink multicast socket on a kernel thread of the daemon (the receive
/// blocks) and hands each datagram's messages to `handle`. The socket's receive timeout
/// bounds how long a stop takes to be noticed; an overrun (ENOBUFS: the kernel dropped
/// events) is handed on as an empty batch, since whatever was lost, a reconcile catches up.
public struct NetlinkEventService: Service {
    let name: String
    let socket: NetlinkSocket
    let threads: NIOThreadPool
    let logger: Logger
    let handle: @Sendable ([Message]) -> Void

    /// `socket` must be subscribed already, and keep a receive timeout (the default 10 s,
    /// or shorter: it is how often the thread looks for a stop).
    public init(name: String, socket: NetlinkSocket, threads: NIOThreadPool, logger: Logger,
                handle: @escaping @Sendable ([Message]) -> Void) {
        self.name = name
        self.socket = socket
        self.threads = threads
        self.logger = logger
        self.handle = handle
    }

    public func run() async throws {
        let stopped = StopFlag()
        let socket = socket, handle = handle, name = name
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await threads.runIfActive {
                    while !stopped.isSet {
                        do throws(NetlinkError) {
                            handle(try socket.receive())
                        } catch {
                            if case .timedOut = error.reason { continue }
                            guard error.errno == .noBufferSpace else { throw error }
                            handle([])
                        }
                    }
                }
            } onCancelOrGracefulShutdown: {
                stopped.set()
            }
        } catch {
            logger.error("\(name) events stopped", metadata: ["error": "\(error)"])
            throw error
        }
    }
}

/// Set once, read from the kernel thread.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

extension NetlinkEventService {
    /// Link, neighbour, route and nexthop events in the node's namespace wake the
    /// reconcile loop (our own writes cause some too; the reconcile that follows finds
    /// nothing to do). Someone deleting a Weft object is repaired this way.
    public static func routeEvents(namespace: String?, wake: WakeSignal, threads: NIOThreadPool, logger: Logger,
                                   pollInterval: Duration = .seconds(1)) throws -> NetlinkEventService {
        let socket = try NetlinkSocket(family: .route, namespace: namespace, timeout: pollInterval)
        try socket.subscribe([.link, .neighbour, .ipv4Route, .nexthop])
        return NetlinkEventService(name: "netlink", socket: socket, threads: threads, logger: logger) { _ in wake.signal() }
    }

    /// XFRMNLGRP_EXPIRE. A soft expiry is logged, counted and kept for the controller's
    /// acknowledgement (rotation due); a hard one also wakes the loop, whose reconcile then
    /// reports the missing SA as refused.
    public static func expiries(namespace: String?, log: ExpiryLog, metrics: AgentMetrics, wake: WakeSignal,
                                threads: NIOThreadPool, logger: Logger, pollInterval: Duration = .seconds(1)) throws -> NetlinkEventService {
        let socket = try NetlinkSocket(family: .xfrm, namespace: namespace, timeout: pollInterval)
        try socket.subscribe([.xfrmExpire])
        return NetlinkEventService(name: "xfrm", socket: socket, threads: threads, logger: logger) { batch in
            for case .xfrmExpire(let event)? in batch.map({ try? NetlinkEvent(decoding: $0, family: .xfrm) }) {
                guard let expiry = log.record(event) else { continue }
                let metadata: Logger.Metadata = ["peer": "\(expiry.peerIndex)", "direction": "\(expiry.direction)",
                                                 "spi": "0x\(String(expiry.spi, radix: 16))"]
                if expiry.hard {
                    metrics.hardExpiries.increment()
                    logger.error("SA hard limit reached; the kernel removed it, a new epoch is needed", metadata: metadata)
                    wake.signal()
                } else {
                    metrics.softExpiries.increment()
                    logger.warning("SA soft limit reached; rotation due", metadata: metadata)
                }
            }
        }
    }
}
