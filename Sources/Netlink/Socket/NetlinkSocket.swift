import CNetlink
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A netlink socket (libmnl underneath) bound to the namespace it was opened in.
///
/// Every request carries a fresh sequence number and every reply is matched to it by
/// sequence number and port id; replies to anything else are skipped. Operations are
/// serialised by a lock, so one socket may be shared, but they do not run in parallel.
public final class NetlinkSocket: @unchecked Sendable {
    public let family: NetlinkFamily
    public let portID: UInt32
    /// The namespace name the socket was opened in, for messages; nil = the caller's.
    public let namespace: String?

    private let handle: OpaquePointer
    let lock = NSLock()
    private var nextSequence: UInt32
    var buffer: [UInt8]

    /// Size of one receive: large enough for any single dump skb the kernel builds.
    static let receiveSize = 256 << 10
    /// Kernel-side receive buffer, so a batch's replies and a burst of events fit.
    static let kernelReceiveBuffer: Int32 = 8 << 20

    /// Opens a socket of `family`, inside network namespace `namespace` when given.
    /// `timeout` bounds every wait for a reply (not the wait for events).
    public convenience init(family: NetlinkFamily, namespace: String? = nil, timeout: Duration = .seconds(10)) throws {
        if let namespace {
            let handle = try NetworkNamespace.run(in: namespace) { try SocketHandle(family: family) }
            try self.init(handle: handle, family: family, namespace: namespace, timeout: timeout)
        } else {
            try self.init(handle: SocketHandle(family: family), family: family, namespace: nil, timeout: timeout)
        }
    }

    private init(handle: SocketHandle, family: NetlinkFamily, namespace: String?, timeout: Duration) throws {
        self.handle = handle.pointer
        self.family = family
        self.namespace = namespace
        portID = mnl_socket_get_portid(handle.pointer)
        nextSequence = UInt32(truncatingIfNeeded: time(nil))
        buffer = [UInt8](repeating: 0, count: Self.receiveSize)
        try configure(timeout: timeout)
    }

    deinit { mnl_socket_close(handle) }

    public var fileDescriptor: Int32 { mnl_socket_get_fd(handle) }

    private func configure(timeout: Duration) throws {
        // Ask for the kernel's reason text in errors, and for errors not to echo our request.
        try setNetlinkOption(NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK")
        try setNetlinkOption(NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK")
        var size = Self.kernelReceiveBuffer
        // SO_RCVBUFFORCE passes rmem_max as root; unprivileged callers get SO_RCVBUF's cap.
        if setsockopt(fileDescriptor, SOL_SOCKET, SO_RCVBUFFORCE, &size, 4) != 0 {
            _ = setsockopt(fileDescriptor, SOL_SOCKET, SO_RCVBUF, &size, 4)
        }
        let (seconds, attoseconds) = timeout.components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        guard setsockopt(fileDescriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw NetlinkError(operation: "open netlink socket", reason: .system(.current, call: "setsockopt(SO_RCVTIMEO)"))
        }
    }

    private func setNetlinkOption(_ option: Int32, _ value: Int32, _ name: String) throws {
        var value = value
        guard mnl_socket_setsockopt(handle, option, &value, 4) == 0 else {
            throw NetlinkError(operation: "open netlink socket", reason: .system(.current, call: "setsockopt(\(name))"))
        }
    }

    /// Joins multicast groups (`RTNLGRP_*`, `XFRMNLGRP_*`) to receive events.
    public func subscribe(_ groups: [MulticastGroup]) throws {
        for group in groups {
            var number = Int32(group.rawValue)
            guard mnl_socket_setsockopt(handle, NETLINK_ADD_MEMBERSHIP, &number, 4) == 0 else {
                throw NetlinkError(operation: "subscribe to \(group)", reason: .system(.current, call: "setsockopt(NETLINK_ADD_MEMBERSHIP)"))
            }
        }
    }

    /// Removes the reply timeout, so `receive()` waits for events indefinitely.
    public func waitForeverForEvents() {
        var tv = timeval(tv_sec: 0, tv_usec: 0)
        _ = setsockopt(fileDescriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    // MARK: - Requests

    /// Sends one request and waits for its ACK; throws the kernel's error.
    public func execute(_ request: Request) throws(NetlinkError) {
        let failures = apply([request]).failures
        if let failure = failures.first { throw failure.error }
    }

    /// Sends a request that the kernel answers with one object (a GET), and decodes it.
    public func get<T: NetlinkObject>(_ request: Request, as type: T.Type = T.self) throws(NetlinkError) -> T {
        let messages = try exchange(request, until: { _ in true })
        guard let message = messages.first else { throw NetlinkError(operation: request.summary, reason: .timedOut) }
        do { return try T(decoding: message) } catch {
            throw NetlinkError(operation: request.summary, reason: .malformedReply(error))
        }
    }

    /// Runs a dump request and returns every reply message. A dump that the kernel marks as
    /// interrupted (NLM_F_DUMP_INTR: the table changed while it was read) is restarted, so
    /// callers never see a torn view.
    public func dumpMessages(_ request: Request) throws(NetlinkError) -> [Message] {
        try streamDump(request, into: [Message]()) { $0.append($1.detached) }
    }

    static let dumpAttempts = 16

    /// Dumps every object of a kind, like `ip link show` / `ip xfrm state list`.
    public func dump<T: NetlinkObject>(_ type: T.Type, family: AddressFamily = .unspecified) throws(NetlinkError) -> [T] {
        try dump(type, family: family, into: [T]()) { $0.append($1) }
    }

    /// Dumps every object of a kind into `initial`, one object at a time, as each receive
    /// arrives: the caller keeps what it needs of each object (the diff's key and value)
    /// and nothing else, so a dump of 20,000 neighbours never exists whole in memory. An
    /// interrupted dump (NLM_F_DUMP_INTR) starts over from `initial`.
    public func dump<T: NetlinkObject, Result>(_ type: T.Type, family: AddressFamily = .unspecified, into initial: Result,
                                               _ fold: (inout Result, T) -> Void) throws(NetlinkError) -> Result {
        let request = T.dumpRequest(family: family)
        return try streamDump(request, into: initial) { (result: inout Result, message: Message) throws(NetlinkError) in
            guard T.dumpReplyTypes.contains(message.header.type), T.isMember(message) else { return }
            do throws(WireError) { fold(&result, try T(decoding: message)) } catch {
                throw NetlinkError(operation: request.summary, reason: .malformedReply(error))
            }
        }
    }

    /// The dump loop: every reply message of `request` (NLMSG_DONE excluded) folded into
    /// `initial`, restarted from `initial` when the kernel marks the dump interrupted.
    private func streamDump<Result>(_ request: Request, into initial: Result,
                                    _ fold: (inout Result, Message) throws(NetlinkError) -> Void) throws(NetlinkError) -> Result {
        for _ in 0..<Self.dumpAttempts {
            var interrupted = false
            var result = initial
            try exchange(request) { (message: Message) throws(NetlinkError) -> Bool in
                if message.header.flags.contains(.dumpInterrupted) { interrupted = true }
                if message.header.type == .done { return true }
                // The rest of an interrupted dump is read (to its end) but not kept.
                if !interrupted { try fold(&result, message) }
                return false
            }
            if !interrupted { return result }
        }
        throw NetlinkError(operation: request.summary, reason: .kernel(.interrupted, message: "dump interrupted \(Self.dumpAttempts) times in a row"))
    }

    /// Sends `request` and collects the messages answering it, until `isLast` says so or an
    /// NLMSG_ERROR arrives (which ends the exchange: an ACK returns, an error throws).
    private func exchange(_ request: Request, until isLast: (Message) -> Bool) throws(NetlinkError) -> [Message] {
        var collected: [Message] = []
        try exchange(request) { (message: Message) throws(NetlinkError) -> Bool in
            collected.append(message.detached)
            return isLast(message)
        }
        return collected
    }

    /// Sends `request` and hands each message answering it to `handle` while it is in the
    /// receive buffer (the slice is valid only during the call), until `handle` returns
    /// true or an NLMSG_ERROR arrives (an ACK ends the exchange, an error throws).
    private func exchange(_ request: Request, each handle: (Message) throws(NetlinkError) -> Bool) throws(NetlinkError) {
        lock.lock()
        defer { lock.unlock() }
        var bytes = request.bytes
        let sequence = stamp(&bytes)
        try send(bytes, operation: request.summary)
        while true {
            for message in try receiveBatch(operation: request.summary) where isReply(message, to: sequence) {
                if message.header.type == .error {
                    let error = try decodeError(message, operation: request.summary)
                    if error.isAck { return }
                    throw NetlinkError(operation: request.summary, reason: .kernel(Errno(rawValue: error.errno), message: error.extAckMessage))
                }
                if message.header.type == .done {
                    let status = try decodeDone(message, operation: request.summary)
                    if status != 0 { throw NetlinkError(operation: request.summary, reason: .kernel(Errno(rawValue: status), message: nil)) }
                }
                if try handle(message) { return }
            }
        }
    }

    // MARK: - Events

    /// Waits for the next datagram and returns its messages (events after `subscribe`),
    /// copied out of the receive buffer.
    public func receive() throws(NetlinkError) -> [Message] {
        lock.lock()
        defer { lock.unlock() }
        return try receiveBatch(operation: "receive events").map(\.detached)
    }

    // MARK: - Syscalls

    /// Writes the next sequence number and our port id into a request; sets or clears ACK.
    func stamp(_ bytes: inout [UInt8], ack: Bool = true) -> UInt32 {
        nextSequence &+= 1
        let sequence = nextSequence
        var flags = UInt16(bytes[6]) | UInt16(bytes[7]) << 8
        if ack { flags |= MessageFlags.ack.rawValue } else { flags &= ~MessageFlags.ack.rawValue }
        bytes[6] = UInt8(truncatingIfNeeded: flags)
        bytes[7] = UInt8(truncatingIfNeeded: flags >> 8)
        for i in 0..<4 {
            bytes[8 + i] = UInt8(truncatingIfNeeded: sequence >> UInt32(8 * i))
            bytes[12 + i] = UInt8(truncatingIfNeeded: portID >> UInt32(8 * i))
        }
        return sequence
    }

    private func isReply(_ message: Message, to sequence: UInt32) -> Bool {
        message.header.sequence == sequence && message.header.portID == portID
    }

    func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        do throws(Errno) {
            let sent = try retryingOnInterrupt { bytes.withUnsafeBytes { mnl_socket_sendto(handle, $0.baseAddress, $0.count) } }
            if sent != bytes.count { throw Errno.messageTooLong }
        } catch {
            throw NetlinkError(operation: operation, reason: .system(error, call: "sendmsg"))
        }
    }

    func receiveBatch(operation: String) throws(NetlinkError) -> [Message] {
        let received: Int
        do throws(Errno) {
            received = try retryingOnInterrupt {
                buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(handle, $0.baseAddress, $0.count) }
            }
        } catch {
            if error == .tryAgain { throw NetlinkError(operation: operation, reason: .timedOut) }
            throw NetlinkError(operation: operation, reason: .system(error, call: "recvmsg"))
        }
        do {
            return try Message.split(buffer[0..<received])
        } catch {
            throw NetlinkError(operation: operation, reason: .malformedReply(error))
        }
    }

    private func decodeError(_ message: Message, operation: String) throws(NetlinkError) -> ErrorMessage {
        do { return try ErrorMessage(decoding: message) } catch {
            throw NetlinkError(operation: operation, reason: .malformedReply(error))
        }
    }

    private func decodeDone(_ message: Message, operation: String) throws(NetlinkError) -> Int32 {
        do { return try doneStatus(message) } catch {
            throw NetlinkError(operation: operation, reason: .malformedReply(error))
        }
    }
}

/// Owns a freshly opened and bound libmnl socket until NetlinkSocket takes it over.
private struct SocketHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(family: NetlinkFamily) throws {
        guard let socket = mnl_socket_open2(family.rawValue, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw NetlinkError(operation: "open netlink socket", reason: .system(.current, call: "socket(AF_NETLINK)"))
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let error = Errno.current
            mnl_socket_close(socket)
            throw NetlinkError(operation: "open netlink socket", reason: .system(error, call: "bind"))
        }
        pointer = socket
    }
}

/// The outcome of `NetlinkSocket.apply`: which requests failed, by index.
public struct BatchResult: Sendable {
    public var count: Int
    public var failures: [BatchFailure] = []

    public var succeeded: Int { count - failures.count }
}

public struct BatchFailure: Sendable {
    public var index: Int
    public var error: NetlinkError
}
