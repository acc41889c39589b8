import NIOConcurrencyHelpers
import NIOCore

/// At most `limit` connections open at once on a NIO listener: `admit` counts an accepted
/// connection until it closes, or turns it away when the limit is reached (the caller
/// closes it). The one counting rule of the metrics endpoint and the controller's gRPC
/// listeners.
public final class ConnectionLimit: Sendable {
    public let limit: Int
    private let open = NIOLockedValueBox(0)

    public init(_ limit: Int) { self.limit = limit }

    /// Connections open now.
    public var count: Int { open.withLockedValue { $0 } }

    public func admit(_ channel: any Channel) -> Bool {
        let admitted = open.withLockedValue { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in self.open.withLockedValue { $0 -= 1 } } }
        return admitted
    }
}
