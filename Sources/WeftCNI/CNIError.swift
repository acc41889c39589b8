import Foundation

/// A CNI error result (spec "Error"): printed on stdout with a non-zero exit. Codes 1-99 are
/// the spec's; 100 and up are Weft's own (docs/cni.md lists them).
public struct CNIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var details: String?

    public init(_ code: Int, _ message: String, details: String? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String {
        details.map { "CNI error \(code): \(message): \($0)" } ?? "CNI error \(code): \(message)"
    }

    // The spec's well-known codes (SPEC.md "Error codes"; 50 and 51 from 1.1.0).
    public static let incompatibleVersion = 1
    public static let unsupportedField = 2
    public static let unknownContainer = 3
    public static let invalidEnvironment = 4
    public static let ioFailure = 5
    public static let decodeFailure = 6
    public static let invalidConfig = 7
    public static let tryAgainLater = 11
    public static let pluginNotAvailable = 50
    // Weft's.
    /// The kernel refused a step of attaching or checking the pod (details: the kernel's text).
    public static let datapathFailure = 100
    /// No free address left in the node's pod CIDR.
    public static let addressesExhausted = 101
    /// CHECK found the pod's network not as ADD left it (details: what differs).
    public static let checkFailed = 102

    /// The error document for `version` (the request's cniVersion, or the newest when
    /// the request had none that could be read).
    public func json(version: String = CNIVersion.newest) -> String {
        var object: [String: Any] = ["cniVersion": version, "code": code, "msg": message]
        if let details { object["details"] = details }
        return JSONText.encode(object)
    }
}

/// Stable JSON text from Foundation objects: sorted keys, no escaped slashes.
enum JSONText {
    static func encode(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
