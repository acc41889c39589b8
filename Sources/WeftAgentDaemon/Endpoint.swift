import GRPCCore
import GRPCNIOTransportHTTP2
#if canImport(Glibc)
import Glibc
#endif

/// A controller listener the agent dials: `HOST:PORT`.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT`; the error names the flag it came from.
    public init(parsing text: String, flag: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port),
              colon != text.startIndex else {
            throw DaemonError("\(flag) takes HOST:PORT, not \"\(text)\"")
        }
        self.init(host: String(text[..<colon]), port: port)
    }

    public var description: String { "\(host):\(port)" }

    /// An IPv4 literal is dialled as is; anything else is a DNS name (a Kubernetes
    /// Service's name, say), resolved at connect time.
    var target: any ResolvableTarget {
        var address = in_addr()
        if inet_pton(AF_INET, host, &address) == 1 {
            return ResolvableTargets.IPv4(addresses: [SocketAddress.IPv4(host: host, port: port)])
        }
        return ResolvableTargets.DNS(host: host, port: port)
    }
}
