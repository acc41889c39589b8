/// A failed netlink operation: what was attempted, and why it failed.
///
/// The description is one line an operator can act on, e.g.
/// `add route 10.244.1.0/24 table main: File exists (EEXIST)` or
/// `add xfrm state src … spi 0x1001: No such process (ESRCH): kernel says "…"`.
public struct NetlinkError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable, Equatable {
        /// The kernel refused the request (its NLMSG_ERROR), with its extended-ack text.
        case kernel(Errno, message: String?)
        /// A syscall on our side failed (socket, sendmsg, recvmsg, setns).
        case system(Errno, call: String)
        /// The kernel's reply could not be decoded.
        case malformedReply(WireError)
        /// No reply came in time.
        case timedOut
        /// The reply was lost to a receive-buffer overrun; the outcome is unknown.
        case replyLost
    }

    public var operation: String
    public var reason: Reason

    public init(operation: String, reason: Reason) {
        self.operation = operation
        self.reason = reason
    }

    /// The errno behind the failure, when there is one.
    public var errno: Errno? {
        switch reason {
        case .kernel(let errno, _), .system(let errno, _): errno
        case .replyLost: .noBufferSpace
        case .timedOut, .malformedReply: nil
        }
    }

    public var description: String {
        switch reason {
        case .kernel(let errno, let message):
            if let message, !message.isEmpty { return "\(operation): \(errno): kernel says \"\(message)\"" }
            return "\(operation): \(errno)"
        case .system(let errno, let call): return "\(operation): \(call) failed: \(errno)"
        case .malformedReply(let wire): return "\(operation): \(wire)"
        case .timedOut: return "\(operation): no reply from the kernel in time"
        case .replyLost: return "\(operation): reply lost to a receive-buffer overrun; outcome unknown, re-read the state"
        }
    }
}
