/// The CNI commands (`CNI_COMMAND`).
public enum CNICommand: String, Sendable, CaseIterable {
    case add = "ADD", del = "DEL", check = "CHECK", version = "VERSION", status = "STATUS", gc = "GC"
}

/// One plugin invocation as the runtime made it: the `CNI_*` environment and the network
/// configuration on stdin, checked against the spec's rules before anything acts on it.
public struct CNIRequest: Sendable, Equatable {
    public var command: CNICommand
    public var containerID: String?
    /// CNI_NETNS: a path (`/var/run/netns/NAME`, `/proc/PID/ns/net`).
    public var netns: String?
    public var interface: String?
    /// CNI_ARGS as key/value pairs (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`, ...).
    public var arguments: [String: String]
    public var config: CNINetworkConfig

    /// Bounds on what a runtime may send (far above any real request).
    public static let maxEnvironmentValue = 4096
    public static let maxArguments = 32

    /// The request from the environment (only `CNI_*` keys are read) and stdin's bytes.
    public init(environment: [String: String], stdin: [UInt8]) throws(CNIError) {
        guard let name = environment["CNI_COMMAND"], !name.isEmpty else {
            throw CNIError(CNIError.invalidEnvironment, "CNI_COMMAND is not set")
        }
        guard let command = CNICommand(rawValue: name) else {
            throw CNIError(CNIError.invalidEnvironment, "CNI_COMMAND \"\(name.prefix(32))\" is not one of ADD, DEL, CHECK, VERSION, STATUS, GC")
        }
        for (key, value) in environment where key.hasPrefix("CNI_") && value.utf8.count > Self.maxEnvironmentValue {
            throw CNIError(CNIError.invalidEnvironment, "\(key.prefix(32)) is longer than \(Self.maxEnvironmentValue) bytes")
        }
        self.command = command
        config = try CNINetworkConfig(decoding: stdin, command: command)
        containerID = environment["CNI_CONTAINERID"].flatMap { $0.isEmpty ? nil : $0 }
        netns = environment["CNI_NETNS"].flatMap { $0.isEmpty ? nil : $0 }
        interface = environment["CNI_IFNAME"].flatMap { $0.isEmpty ? nil : $0 }
        arguments = try Self.parseArguments(environment["CNI_ARGS"] ?? "")
        try checkRequired()
    }

    /// The pod's attachment: what ADD, CHECK and DEL act on.
    public var attachment: CNIAttachment? {
        guard let containerID, let interface else { return nil }
        return CNIAttachment(containerID: containerID, interface: interface)
    }

    /// `namespace/name` of the Kubernetes pod, when the runtime said (for logs).
    public var podName: String? {
        guard let namespace = arguments["K8S_POD_NAMESPACE"], let name = arguments["K8S_POD_NAME"] else { return nil }
        return "\(namespace)/\(name)"
    }

    private func checkRequired() throws(CNIError) {
        guard CNIVersion.allows(command, in: config.cniVersion) else {
            throw CNIError(CNIError.incompatibleVersion, "\(command.rawValue) does not exist in CNI \(config.cniVersion)")
        }
        switch command {
        case .add, .check:
            try require("CNI_CONTAINERID", containerID)
            try require("CNI_NETNS", netns)
            try require("CNI_IFNAME", interface)
        case .del:
            try require("CNI_CONTAINERID", containerID)
            try require("CNI_IFNAME", interface)
        case .version, .status, .gc: return
        }
        try CNIAttachment.validate(containerID: containerID!, interface: interface!)
        if let netns, !netns.hasPrefix("/") {
            throw CNIError(CNIError.invalidEnvironment, "CNI_NETNS \"\(netns.prefix(64))\" is not an absolute path")
        }
    }

    private func require(_ key: String, _ value: String?) throws(CNIError) {
        if value == nil { throw CNIError(CNIError.invalidEnvironment, "\(key) is required for \(command.rawValue)") }
    }

    /// `K1=V1;K2=V2`, as the spec writes CNI_ARGS.
    static func parseArguments(_ text: String) throws(CNIError) -> [String: String] {
        var pairs: [String: String] = [:]
        let parts = text.split(separator: ";", omittingEmptySubsequences: true)
        guard parts.count <= maxArguments else { throw CNIError(CNIError.invalidEnvironment, "CNI_ARGS has more than \(maxArguments) entries") }
        for part in parts {
            guard let equals = part.firstIndex(of: "="), equals != part.startIndex else {
                throw CNIError(CNIError.invalidEnvironment, "CNI_ARGS entry \"\(part.prefix(64))\" is not KEY=VALUE")
            }
            pairs[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        return pairs
    }
}

/// A container's interface on Weft's network: the key of every allocation and veth.
public struct CNIAttachment: Hashable, Sendable, Codable, CustomStringConvertible {
    public var containerID: String
    public var interface: String

    public init(containerID: String, interface: String) {
        self.containerID = containerID
        self.interface = interface
    }

    public var description: String { "\(containerID)/\(interface)" }

    /// The spec's rules: a container ID is alphanumeric plus `-._`, starting alphanumeric;
    /// an interface name is a Linux one (1-15 bytes, not `.`/`..`, no `/`, `:` or space).
    public static func validate(containerID: String, interface: String) throws(CNIError) {
        let idBytes = Array(containerID.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }
        guard let first = idBytes.first, alnum(first), idBytes.count <= 1024,
              idBytes.allSatisfy({ alnum($0) || $0 == 0x2d || $0 == 0x2e || $0 == 0x5f }) else {
            throw CNIError(CNIError.invalidEnvironment, "CNI_CONTAINERID must be 1-1024 characters of [A-Za-z0-9_.-], starting alphanumeric",
                           details: String(containerID.prefix(64)))
        }
        let nameBytes = Array(interface.utf8)
        guard (1...15).contains(nameBytes.count), interface != ".", interface != "..",
              nameBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x2f && $0 != 0x3a }) else {
            throw CNIError(CNIError.invalidEnvironment, "CNI_IFNAME must be an interface name of 1-15 printable characters without '/', ':' or spaces",
                           details: String(interface.prefix(64)))
        }
    }
}
