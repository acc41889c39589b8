import Foundation
import WeftModel
import WeftPlanner
import Yams

/// The embedded cluster-state source: a YAML file (docs/cluster-file.md). Parsing is
/// strict: unknown node names, overlapping pod CIDRs, addresses outside their node's
/// CIDR, duplicates and type errors are reported together, each with its line.
public enum ClusterFile {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        /// "cluster.yaml:12: pods[3].address: 10.9.0.5 is outside node node1's pod CIDR 10.244.1.0/24"
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// Parses and validates `text`; `name` prefixes every problem (the file's path).
    public static func parse(_ text: String, name: String = "cluster file") throws(Error) -> ClusterSpec {
        let lines: [String: Int]
        do {
            lines = try lineMap(text)
        } catch {
            throw Error(problems: ["\(name): not YAML: \(error)"])
        }
        let spec: ClusterSpec
        do {
            spec = try YAMLDecoder().decode(ClusterSpec.self, from: text)
        } catch {
            guard let decoding = error as? DecodingError else { throw Error(problems: ["\(name): \(error)"]) }
            let (path, message) = describe(decoding)
            throw Error(problems: ["\(name):\(line(of: path, in: lines)): \(path.isEmpty ? "top level" : path): \(message)"])
        }
        let problems = spec.problems()
        guard problems.isEmpty else {
            throw Error(problems: problems.map { "\(name):\(line(of: $0.path, in: lines)): \($0.path): \($0.message)" })
        }
        return spec
    }

    /// Dotted path ("pods[3].address") → line, for every node of the document.
    static func lineMap(_ text: String) throws -> [String: Int] {
        var map: [String: Int] = [:]
        func walk(_ node: Node, _ path: String) {
            if let mark = node.mark { map[path] = mark.line }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    let child = path.isEmpty ? (key.string ?? "?") : "\(path).\(key.string ?? "?")"
                    if let mark = key.mark { map[child] = mark.line }
                    walk(value, child)
                    if let mark = key.mark { map[child] = mark.line }
                }
            case .sequence(let sequence):
                for (i, element) in sequence.enumerated() { walk(element, "\(path)[\(i)]") }
            default:
                break
            }
        }
        if let root = try Yams.compose(yaml: text) { walk(root, "") }
        return map
    }

    /// The line of `path`, or of its nearest ancestor that has one.
    static func line(of path: String, in lines: [String: Int]) -> Int {
        var path = path
        while !path.isEmpty {
            if let line = lines[path] { return line }
            if let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) { path = String(path[..<cut]) } else { break }
        }
        return lines[path] ?? 1
    }

    static func describe(_ error: DecodingError) -> (path: String, message: String) {
        func render(_ keys: [CodingKey]) -> String {
            keys.reduce("") { path, key in
                if let index = key.intValue { return "\(path)[\(index)]" }
                return path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return (render(context.codingPath), "missing field \"\(key.stringValue)\"")
        case .typeMismatch(let type, let context):
            return (render(context.codingPath), "expected \(type)")
        case .valueNotFound(let type, let context):
            return (render(context.codingPath), "expected \(type), found nothing")
        case .dataCorrupted(let context):
            return (render(context.codingPath), context.debugDescription)
        @unknown default:
            return ("", "\(error)")
        }
    }
}
