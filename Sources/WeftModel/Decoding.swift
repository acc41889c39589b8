import Foundation

/// Why a desired-state document was refused. The agent keeps the previous state in force.
public struct DesiredStateError: Error, CustomStringConvertible, Hashable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension DesiredNodeState {
    /// Decodes and validates a document; every problem is named with its JSON path.
    public static func decode(_ data: Data) throws -> DesiredNodeState {
        // Check the version before anything else: a newer major may not parse at all.
        struct VersionOnly: Decodable { var version: String }
        let version: String
        do {
            version = try JSONDecoder().decode(VersionOnly.self, from: data).version
        } catch {
            throw DesiredStateError("desired state: not a JSON object with a \"version\" string (\(describe(error)))")
        }
        let major = version.split(separator: ".").first.flatMap { Int($0) }
        guard major == supportedMajor else {
            throw DesiredStateError("desired state: version \(version) is not supported (this agent reads \(supportedMajor).x)")
        }
        let state: DesiredNodeState
        do {
            state = try JSONDecoder().decode(DesiredNodeState.self, from: data)
        } catch {
            throw DesiredStateError("desired state: \(describe(error))")
        }
        let problems = state.validate()
        if !problems.isEmpty { throw DesiredStateError("desired state revision \(state.revision): " + problems.joined(separator: "; ")) }
        return state
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing field \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return "malformed at \(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
