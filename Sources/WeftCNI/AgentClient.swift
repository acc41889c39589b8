import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// weft-cni's side of the agent's CNI socket: connect, send one request, read the reply.
/// An agent that is not there is "try again later" (the runtime retries); one that does
/// not answer within `timeout` is too.
public struct AgentClient: Sendable {
    public var socketPath: String
    public var timeout: Duration

    public init(socketPath: String, timeout: Duration = .seconds(60)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    public func exchange(_ request: AgentWire.Request) throws(CNIError) -> AgentWire.Reply {
        let fd = try connect()
        defer { close(fd) }
        guard let frame = try? AgentWire.frame(request) else {
            throw CNIError(CNIError.ioFailure, "cannot encode the request for weft-agent")
        }
        try send(fd, frame)
        return try AgentWire.decodeReply(try receive(fd))
    }

    private func connect() throws(CNIError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CNIError(CNIError.ioFailure, "socket(AF_UNIX): \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let path = Array(socketPath.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: path + [0])
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CNIError(CNIError.tryAgainLater, "weft-agent is not running on this node; try again later",
                           details: "connect \(socketPath): \(reason)")
        }
        return fd
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) throws(CNIError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw lost("sending to") }
            sent += n
        }
    }

    private func receive(_ fd: Int32) throws(CNIError) -> [UInt8] {
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw lost("reading from") }
            if n == 0 { return reply }
            reply += buffer[..<n]
            guard reply.count <= AgentWire.maxReply else { throw CNIError(CNIError.ioFailure, "weft-agent's reply is larger than \(AgentWire.maxReply) bytes") }
        }
    }

    private func lost(_ step: String) -> CNIError {
        let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
        return CNIError(CNIError.tryAgainLater, timedOut ? "weft-agent did not answer within \(timeout); try again later"
                                                        : "weft-agent closed the connection; try again later",
                        details: "\(step) \(socketPath): \(String(cString: strerror(errno)))")
    }
}
