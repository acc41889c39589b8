import Foundation
import Addresses

/// The network configuration on stdin: the spec's fields, Weft's own (`socket`, `mtu`,
/// `routes`), CHECK's `prevResult` and GC's `cni.dev/valid-attachments`. Unknown fields
/// are ignored (a conflist may carry anything for other plugins); every field Weft reads
/// is bounded and checked, and a problem names the field.
public struct CNINetworkConfig: Sendable, Equatable {
    public var cniVersion: String
    public var name: String
    public var type: String
    /// The agent's CNI socket.
    public var socket: String
    /// The pod interface's MTU; nil: the overlay's (from the node's desired state).
    public var mtu: UInt32?
    /// Where the pod's routes through the gateway lead; default: everywhere (0.0.0.0/0).
    public var routes: [IPPrefix]
    /// CHECK: the addresses ADD reported.
    public var previousAddresses: [IPPrefix]?
    /// GC: the attachments the runtime still has; every other one is released.
    public var validAttachments: [CNIAttachment]?

    public static let defaultSocket = "/run/weft/cni.sock"
    public static let maxBytes = 256 << 10
    public static let maxRoutes = 32
    public static let maxAttachments = 65536

    public init(decoding bytes: [UInt8], command: CNICommand) throws(CNIError) {
        guard bytes.count <= Self.maxBytes else {
            throw CNIError(CNIError.decodeFailure, "network configuration is larger than \(Self.maxBytes) bytes")
        }
        let blank = bytes.allSatisfy { $0 == 0x20 || $0 == 0x0a || $0 == 0x09 || $0 == 0x0d }
        // VERSION may come with an empty stdin: answer with the newest version.
        let wire = command == .version && blank ? ConfigWire() : try ConfigWire.decode(bytes)
        let needed = command != .version
        cniVersion = try Self.required("cniVersion", wire.cniVersion, needed) ?? CNIVersion.newest
        guard CNIVersion.supported.contains(cniVersion) else {
            throw CNIError(CNIError.incompatibleVersion, "cniVersion \"\(cniVersion.prefix(16))\" is not supported",
                           details: "weft-cni speaks \(CNIVersion.supported.joined(separator: ", "))")
        }
        name = try Self.required("name", wire.name, needed) ?? ""
        type = try Self.required("type", wire.type, needed) ?? ""
        socket = try Self.required("socket", wire.socket, false) ?? Self.defaultSocket
        guard socket.hasPrefix("/"), socket.utf8.count < 108 else {
            throw CNIError(CNIError.invalidConfig, "\"socket\" must be an absolute path shorter than 108 bytes")
        }
        if let mtu = wire.mtu {
            guard (576...9000).contains(mtu) else { throw CNIError(CNIError.invalidConfig, "\"mtu\" must be from 576 to 9000") }
            self.mtu = UInt32(mtu)
        }
        routes = try wire.routes.map { list throws(CNIError) in try Self.prefixes(list) } ?? [IPPrefix(.v4(0), 0)]
        previousAddresses = try wire.prevResult.map { result throws(CNIError) in try Self.addresses(result) }
        validAttachments = try wire.validAttachments.map { list throws(CNIError) in try Self.attachments(list) }
    }

    private static func required(_ key: String, _ value: String?, _ needed: Bool) throws(CNIError) -> String? {
        guard let value else {
            if needed { throw CNIError(CNIError.invalidConfig, "network configuration has no \"\(key)\"") }
            return nil
        }
        guard !value.isEmpty, value.utf8.count <= 1024 else {
            throw CNIError(CNIError.invalidConfig, "\"\(key)\" must be a non-empty string of at most 1024 bytes")
        }
        return value
    }

    private static func prefixes(_ list: [String]) throws(CNIError) -> [IPPrefix] {
        guard list.count <= maxRoutes else { throw CNIError(CNIError.invalidConfig, "\"routes\" holds more than \(maxRoutes) prefixes") }
        var prefixes: [IPPrefix] = []
        for text in list {
            guard let prefix = IPPrefix(text), prefix.address.family == .inet, prefix == prefix.masked else {
                throw CNIError(CNIError.invalidConfig, "\"routes\" entry \"\(text.prefix(48))\" is not an IPv4 prefix like 10.0.0.0/8")
            }
            prefixes.append(prefix)
        }
        return prefixes
    }

    private static func addresses(_ result: ConfigWire.PreviousResult) throws(CNIError) -> [IPPrefix] {
        let ips = result.ips ?? []
        guard ips.count <= 64 else { throw CNIError(CNIError.invalidConfig, "\"prevResult.ips\" holds more than 64 entries") }
        var addresses: [IPPrefix] = []
        for ip in ips {
            guard let prefix = IPPrefix(ip.address) else {
                throw CNIError(CNIError.invalidConfig, "\"prevResult.ips\" entry \"\(ip.address.prefix(48))\" is not an address like 10.244.1.5/32")
            }
            addresses.append(prefix)
        }
        return addresses
    }

    private static func attachments(_ list: [ConfigWire.Attachment]) throws(CNIError) -> [CNIAttachment] {
        guard list.count <= maxAttachments else {
            throw CNIError(CNIError.invalidConfig, "\"cni.dev/valid-attachments\" holds more than \(maxAttachments) entries")
        }
        var attachments: [CNIAttachment] = []
        for entry in list {
            try CNIAttachment.validate(containerID: entry.containerID, interface: entry.ifname)
            attachments.append(CNIAttachment(containerID: entry.containerID, interface: entry.ifname))
        }
        return attachments
    }
}

/// The JSON as sent: only the fields Weft reads, everything else ignored.
struct ConfigWire: Decodable {
    struct PreviousResult: Decodable {
        struct IP: Decodable { var address: String }
        var ips: [IP]?
    }
    struct Attachment: Decodable {
        var containerID: String
        var ifname: String
    }

    var cniVersion: String?
    var name: String?
    var type: String?
    var socket: String?
    var mtu: Int?
    var routes: [String]?
    var prevResult: PreviousResult?
    var validAttachments: [Attachment]?

    enum CodingKeys: String, CodingKey {
        case cniVersion, name, type, socket, mtu, routes, prevResult
        case validAttachments = "cni.dev/valid-attachments"
    }

    init() {}

    /// Decodes, naming the field a type error is in.
    static func decode(_ bytes: [UInt8]) throws(CNIError) -> ConfigWire {
        do {
            return try JSONDecoder().decode(ConfigWire.self, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw CNIError(CNIError.decodeFailure, "network configuration is not a JSON object")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw CNIError(CNIError.invalidConfig, "\"\(context.codingPath.dotted)\" has the wrong type")
        } catch let DecodingError.keyNotFound(key, context) {
            throw CNIError(CNIError.invalidConfig, "\"\((context.codingPath + [key]).dotted)\" is missing")
        } catch {
            throw CNIError(CNIError.decodeFailure, "network configuration is not a JSON object")
        }
    }
}

extension Array where Element == any CodingKey {
    /// `prevResult.ips[0].address`
    var dotted: String {
        map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
}
