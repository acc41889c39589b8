/// The transport protocols NetworkPolicy names (`v1.Protocol`), kept distinct.
public enum TransportProtocol: String, StrictChoice, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case tcp = "TCP", udp = "UDP", sctp = "SCTP"

    public var description: String { rawValue }
}

/// A port of a rule: a protocol (defaulted to TCP), and a number, a range (`port` to
/// `endPort`) or a container port's name; no port means every port of the protocol.
public struct NetworkPolicyPort: Codable, Hashable, Sendable {
    public var `protocol`: TransportProtocol
    public var port: PortReference?
    public var endPort: Int32?

    public init(_ proto: TransportProtocol = .tcp, _ port: PortReference? = nil, endPort: Int32? = nil) {
        self.protocol = proto
        self.port = port
        self.endPort = endPort
    }

    enum CodingKeys: String, CodingKey { case `protocol`, port, endPort }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.protocol = try c.decodeIfPresent(TransportProtocol.self, forKey: .protocol) ?? .tcp
        port = try c.decodeIfPresent(PortReference.self, forKey: .port)
        endPort = try c.decodeIfPresent(Int32.self, forKey: .endPort)
    }
}

/// `IntOrString` as a port: a number, or the name of a container port (resolved against
/// each destination pod's own ports, so one rule may mean different numbers on two pods).
public enum PortReference: Codable, Hashable, Sendable, CustomStringConvertible {
    case number(Int32)
    case name(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let number = try? c.decode(Int32.self) { self = .number(number); return }
        self = .name(try c.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let number): try c.encode(number)
        case .name(let name): try c.encode(name)
        }
    }

    public var description: String {
        switch self {
        case .number(let number): "\(number)"
        case .name(let name): name
        }
    }
}

/// A pod's container port, for resolving named ports (`containers[].ports[]`).
public struct ContainerPort: Codable, Hashable, Sendable {
    public var name: String?
    public var containerPort: Int32
    public var `protocol`: TransportProtocol

    public init(name: String? = nil, containerPort: Int32, _ proto: TransportProtocol = .tcp) {
        self.name = name
        self.containerPort = containerPort
        self.protocol = proto
    }

    enum CodingKeys: String, CodingKey { case name, containerPort, port, `protocol` }

    /// `containerPort` as the API names it; `port` accepted as the cluster file's short form.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        guard let number = try c.decodeIfPresent(Int32.self, forKey: .containerPort) ?? c.decodeIfPresent(Int32.self, forKey: .port) else {
            throw DecodingError.keyNotFound(CodingKeys.containerPort, .init(codingPath: decoder.codingPath, debugDescription: "a container port needs containerPort"))
        }
        containerPort = number
        self.protocol = try c.decodeIfPresent(TransportProtocol.self, forKey: .protocol) ?? .tcp
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encode(containerPort, forKey: .containerPort)
        try c.encode(self.protocol, forKey: .protocol)
    }
}
