import Foundation
import WeftFiles
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

    /// A cluster file of 150,000 pods is about 15 MB; anything past this is refused
    /// before it is parsed.
    public static let maximumSize = 64 << 20
    /// Problems reported for one refused file (the rest are counted).
    public static let maximumProblems = 100

    /// Reads (at most `maximumSize`, UTF-8) and parses the file at `path`: what the
    /// controller starts from and what its file source yields.
    public static func load(_ path: String) throws -> ClusterSpec {
        guard let text = try SecureFile.loadText(path, limit: maximumSize) else { throw Error(problems: ["\(path): no such file"]) }
        return try parse(text, name: path)
    }

    /// Parses and validates `text`; `name` prefixes every problem (the file's path).
    /// Anchors and aliases are refused: the format needs none, and an alias is how a
    /// kilobyte of YAML becomes gigabytes of decoded values.
    public static func parse(_ text: String, name: String = "cluster file") throws(Error) -> ClusterSpec {
        guard text.utf8.count <= maximumSize else {
            throw Error(problems: ["\(name): \(text.utf8.count) bytes, more than the \(maximumSize) a cluster file may have"])
        }
        if let problem = unsafeStructure(text) { throw Error(problems: ["\(name):\(problem)"]) }
        let lines: [String: Int]
        do {
            lines = try lineMap(text)
        } catch let error as Error {
            throw Error(problems: error.problems.map { "\(name):\($0)" })
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
            // All of them up to a bound: a file of 100,000 bad pods makes one log line, not a flood.
            var listed = problems.prefix(maximumProblems).map { "\(name):\(line(of: $0.path, in: lines)): \($0.path): \($0.message)" }
            if problems.count > maximumProblems { listed.append("\(name): … and \(problems.count - maximumProblems) more problems") }
            throw Error(problems: listed)
        }
        return spec
    }

    /// Deepest flow nesting (`[`, `{`) and indentation a cluster file may use: the parser
    /// recurses once per level, and the format needs a handful.
    static let maximumNesting = 32, maximumIndentation = 128

    /// A scan of the raw text, before any parser sees it, for what would make parsing
    /// itself the attack: an anchor or alias (`&a`, `*a` where a node starts — a plain
    /// scalar cannot begin with either, so that is always one), flow nesting or
    /// indentation past the bounds. Quoted strings and comments are skipped. Returns
    /// "LINE: problem" or nil.
    static func unsafeStructure(_ text: String) -> String? {
        var line = 1, depth = 0, column = 0
        var quote: UInt8? = nil, comment = false, previous: UInt8 = 0x0a  // last non-blank byte on the line (0x0a: none)
        var lastByte: UInt8 = 0x0a
        for byte in text.utf8 {
            defer { lastByte = byte }
            if byte == 0x0a { line += 1; column = 0; comment = false; previous = 0x0a; if quote == UInt8(ascii: "'") { quote = nil }; continue }
            column += 1
            if comment { continue }
            if let open = quote {
                if byte == open { quote = nil; previous = byte }
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                if previous == 0x0a && column > maximumIndentation { return "\(line): indented more than \(maximumIndentation) columns" }
                continue
            case UInt8(ascii: "#") where lastByte == UInt8(ascii: " ") || lastByte == UInt8(ascii: "\t") || previous == 0x0a:
                comment = true
                continue
            case UInt8(ascii: "\""), UInt8(ascii: "'") where previous == 0x0a || Self.startsNode(after: previous):
                quote = byte
            case UInt8(ascii: "&"), UInt8(ascii: "*") where previous == 0x0a || Self.startsNode(after: previous):
                return "\(line): YAML anchors and aliases are not accepted (\(byte == UInt8(ascii: "&") ? "&" : "*")…); write the values out"
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maximumNesting { return "\(line): nested deeper than \(maximumNesting) levels" }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default:
                break
            }
            previous = byte
        }
        return nil
    }

    /// After these a new node (or a key) may start.
    private static func startsNode(after byte: UInt8) -> Bool {
        [UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: "?")].contains(byte)
    }

    /// Dotted path ("pods[3].address") → line, for every node of the document. Throws at
    /// the first anchor: composing shares an aliased node instead of copying it, so the
    /// walk meets the anchor before any alias of it could multiply the work.
    static func lineMap(_ text: String) throws -> [String: Int] {
        var map: [String: Int] = [:]
        var anchored: (line: Int, name: String)?
        func walk(_ node: Node, _ path: String) {
            guard anchored == nil else { return }
            if let anchor = node.anchor {
                anchored = (node.mark?.line ?? 1, anchor.rawValue)
                return
            }
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
        if let anchored {
            throw Error(problems: ["\(anchored.line): YAML anchors and aliases are not accepted (&\(anchored.name.prefix(32))); write the values out"])
        }
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
