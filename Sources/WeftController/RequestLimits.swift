import Foundation
import WeftKubernetes
import WeftModel

/// Bounds on every field a caller of the control service controls, checked before any
/// state is read or written. A request outside them is refused with INVALID_ARGUMENT naming
/// the field and the bound, never echoing more than a bounded, sanitised piece of it.
/// (The gRPC transport caps whole requests first: `joinPayload` on the join listener,
/// `nodePayload` on the node listener.)
public enum RequestLimits {
    /// `weft-join.<8 hex>.<32 hex>`.
    public static let token = 64
    /// A P-256 CSR with two SANs is under 1 KiB as PEM.
    public static let csrPEM = 8 << 10
    /// The agent's incarnation is 16 hex digits; a little room for other agents.
    public static let incarnation = 64
    /// An agent holds at most two generations of SAs per direction per peer.
    public static let spisPerPeer = 4
    public static let failures = 256
    /// A failed change's key (an XFRM state's is the longest) and the kernel's message.
    public static let failureObject = 256
    public static let failureMessage = 1024
    public static let joinPayload = 16 << 10
    public static let nodePayload = 1 << 20

    typealias Failure = ControlPlane.Failure

    static func checkNodeName(_ name: String) throws(Failure) {
        guard NodeName.isValid(name) else {
            throw Failure(kind: .invalidArgument, description: "node: not a node name (a DNS-1123 subdomain of at most \(NodeName.maximumLength) characters)")
        }
    }

    static func checkIncarnation(_ value: String) throws(Failure) {
        let bytes = Array(value.utf8)
        guard bytes.count <= incarnation,
              bytes.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                                 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || [UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_")].contains($0) }) else {
            throw Failure(kind: .invalidArgument, description: "incarnation: at most \(incarnation) characters of [A-Za-z0-9._-]")
        }
    }

    static func checkToken(_ token: String) throws(Failure) {
        guard (1...Self.token).contains(token.utf8.count) else {
            throw Failure(kind: .invalidArgument, description: "token: longer than \(Self.token) bytes; not a join token")
        }
    }

    static func checkCSR(_ pem: String) throws(Failure) {
        guard (1...csrPEM).contains(pem.utf8.count) else {
            throw Failure(kind: .invalidArgument, description: "csr_pem: empty or longer than \(csrPEM) bytes")
        }
    }

    /// An acknowledgement's failures: how many, and each field's size.
    static func checkFailures(text: [String], changes: [ControlPlane.ReportedFailure]) throws(Failure) {
        guard text.count <= failures else {
            throw Failure(kind: .invalidArgument, description: "failures: \(text.count) entries, more than \(failures)")
        }
        guard changes.count <= failures else {
            throw Failure(kind: .invalidArgument, description: "failed_changes: \(changes.count) entries, more than \(failures)")
        }
        for (index, change) in changes.enumerated() {
            guard change.verb.utf8.count <= 16, change.kind.utf8.count <= 32, change.object.utf8.count <= failureObject,
                  change.message.utf8.count <= failureMessage else {
                throw Failure(kind: .invalidArgument,
                              description: "failed_changes[\(index)]: verb, kind, object or message over 16, 32, \(failureObject) or \(failureMessage) bytes")
            }
        }
    }

    /// A join with a service-account token: the same, the token bounded as a JWT.
    static func checkServiceAccountJoin(node: String, token: String, csrPEM: String, incarnation: String) throws(Failure) {
        try checkNodeName(node)
        guard token.utf8.count <= ServiceAccountReview.maxToken else {
            throw Failure(kind: .invalidArgument, description: "token: longer than \(ServiceAccountReview.maxToken) bytes; not a service-account token")
        }
        try checkCSR(csrPEM)
        try checkIncarnation(incarnation)
    }

    /// A join request's fields, all of them, before anything else looks at it.
    static func checkJoin(node: String, token: String, csrPEM: String, incarnation: String) throws(Failure) {
        try checkNodeName(node)
        try checkToken(token)
        try checkCSR(csrPEM)
        try checkIncarnation(incarnation)
    }

}

/// Caps how often refused requests are written to the audit log: a flood of bad joins
/// costs a counter, not a disk. A token bucket (`burst` entries, one more every
/// `interval`); what it holds back is counted and named in the next entry it lets through.
final class RefusalBudget: @unchecked Sendable {
    private let lock = NSLock()
    private let burst: Double
    private let interval: TimeInterval
    private var tokens: Double
    private var updated: Date
    private var suppressed = 0

    init(burst: Int = 20, interval: TimeInterval = 3, now: Date = Date()) {
        self.burst = Double(burst)
        self.interval = interval
        tokens = Double(burst)
        updated = now
    }

    /// nil: do not write this one; otherwise how many were held back before it.
    func admit(now: Date = Date()) -> Int? {
        lock.withLock {
            tokens = min(burst, tokens + max(0, now.timeIntervalSince(updated)) / interval)
            updated = now
            guard tokens >= 1 else { suppressed += 1; return nil }
            tokens -= 1
            defer { suppressed = 0 }
            return suppressed
        }
    }
}
