/// A JSON value whose objects keep their key order, so `weftctl -j` prints fields in the
/// same order as `ip -j` and diffs of its output stay readable.
public indirect enum JSON: Equatable, Sendable {
    case string(String)
    case number(Int64)
    case unsigned(UInt64)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool { a.rendered() == b.rendered() }

    /// Compact JSON text, as `ip -j` prints it.
    public func rendered() -> String {
        var out = ""
        render(into: &out)
        return out
    }

    private func render(into out: inout String) {
        switch self {
        case .string(let s): Self.quote(s, into: &out)
        case .number(let n): out += String(n)
        case .unsigned(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.render(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.render(into: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// Builds a JSON object field by field, skipping absent optionals.
struct JSONObject {
    private(set) var fields: [(String, JSON)] = []

    mutating func add(_ key: String, _ value: JSON?) {
        if let value { fields.append((key, value)) }
    }

    mutating func add(_ key: String, _ value: String?) { add(key, value.map(JSON.string)) }
    mutating func add<I: BinaryInteger>(_ key: String, _ value: I?) {
        guard let value else { return }
        add(key, value < 0 ? JSON.number(Int64(value)) : JSON.unsigned(UInt64(value)))
    }
    mutating func add(_ key: String, _ value: Bool?) { add(key, value.map(JSON.bool)) }
    mutating func add(_ key: String, strings: [String]) { add(key, JSON.array(strings.map(JSON.string))) }

    var json: JSON { .object(fields) }
}

/// Names of the set bits of an option set, in the given order.
func flagNames<F: OptionSet>(_ value: F, _ names: [(F, String)]) -> [String] where F.RawValue: FixedWidthInteger, F.Element == F {
    names.filter { value.contains($0.0) && $0.0.rawValue != 0 }.map(\.1)
}

func hex<I: BinaryInteger>(_ value: I) -> String { "0x" + String(value, radix: 16) }
