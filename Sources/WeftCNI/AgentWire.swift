import Foundation

/// What weft-cni and the agent say over the agent's CNI socket, one exchange per
/// connection. The request is a header line `weft-cni/1 LENGTH\n` and LENGTH bytes of JSON
/// (the `CNI_*` environment and stdin); the reply is JSON (the exit code and what weft-cni
/// prints), after which the agent closes. The version in the header lets either side
/// refuse a format it does not know instead of misreading it.
public enum AgentWire {
    public static let protocolName = "weft-cni"
    public static let version = 1
    /// Stdin's bound plus room for the environment.
    public static let maxRequest = CNINetworkConfig.maxBytes * 2 + (64 << 10)
    public static let maxReply = 1 << 20
    public static let maxHeader = 40

    public struct Request: Codable, Sendable, Equatable {
        public var environment: [String: String]
        public var stdin: Data
        public init(environment: [String: String], stdin: [UInt8]) {
            self.environment = environment.filter { $0.key.hasPrefix("CNI_") }
            self.stdin = Data(stdin)
        }
    }

    public struct Reply: Codable, Sendable, Equatable {
        public var exitCode: Int32
        public var output: String
        public init(exitCode: Int32, output: String) {
            self.exitCode = exitCode
            self.output = output
        }
        public init(error: CNIError, version: String) {
            self.init(exitCode: 1, output: error.json(version: version))
        }
    }

    public static func frame(_ request: Request) throws -> [UInt8] {
        let body = try JSONEncoder().encode(request)
        return Array("\(protocolName)/\(version) \(body.count)\n".utf8) + body
    }

    /// The body length a header line announces (without its newline); throws on anything
    /// but this protocol and version with a length within bounds.
    public static func bodyLength(header: [UInt8]) throws(CNIError) -> Int {
        let text = String(decoding: header, as: UTF8.self)
        let parts = text.split(separator: " ")
        guard header.count <= maxHeader, parts.count == 2, parts[0] == "\(protocolName)/\(version)" else {
            throw CNIError(CNIError.incompatibleVersion, "the agent speaks \(protocolName)/\(version); the plugin sent another format",
                           details: "upgrade weft-cni and weft-agent together")
        }
        guard let length = Int(parts[1]), length > 0, length <= maxRequest else {
            throw CNIError(CNIError.decodeFailure, "request length \(parts[1].prefix(16)) is not within 1-\(maxRequest) bytes")
        }
        return length
    }

    public static func decodeRequest(_ body: [UInt8]) throws(CNIError) -> Request {
        do { return try JSONDecoder().decode(Request.self, from: Data(body)) } catch {
            throw CNIError(CNIError.decodeFailure, "the request from weft-cni is not valid JSON of \(protocolName)/\(version)")
        }
    }

    public static func encodeReply(_ reply: Reply) -> [UInt8] {
        Array((try? JSONEncoder().encode(reply)) ?? Data(#"{"exitCode":1,"output":""}"#.utf8))
    }

    public static func decodeReply(_ bytes: [UInt8]) throws(CNIError) -> Reply {
        do { return try JSONDecoder().decode(Reply.self, from: Data(bytes)) } catch {
            throw CNIError(CNIError.ioFailure, "weft-agent's reply is not valid JSON of \(protocolName)/\(version)")
        }
    }
}
