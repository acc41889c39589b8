import WeftModel

/// Kubernetes' syntax rules for labels and names (apimachinery's validation package), so a
/// cluster file is held to what an API server would accept.
enum Labels {
    /// `[prefix/]name`: prefix a DNS-1123 subdomain, name 1-63 of [A-Za-z0-9_.-], alphanumeric at both ends.
    static func isKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 { return NodeName.isValid(String(parts[0])) && isName(parts[1]) }
        return isName(parts[0])
    }

    /// Empty, or a name as above.
    static func isValue(_ value: String) -> Bool { value.isEmpty || isName(Substring(value)) }

    static func isName(_ name: Substring) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// A DNS-1123 label (a namespace name): 1-63 of a-z, 0-9, '-', alphanumeric at both ends.
    static func isDNSLabel(_ name: String) -> Bool {
        name.utf8.count <= 63 && NodeName.isValid(name) && !name.contains(".")
    }

    /// IANA_SVC_NAME (a named port): 1-15 of a-z, 0-9, '-', a letter somewhere, no '-' at
    /// either end and no "--".
    static func isServiceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...15).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-"), !name.contains("--") else { return false }
        let lower = UInt8(ascii: "a")...UInt8(ascii: "z"), digit = UInt8(ascii: "0")...UInt8(ascii: "9")
        return bytes.allSatisfy { lower.contains($0) || digit.contains($0) || $0 == UInt8(ascii: "-") } && bytes.contains(where: lower.contains)
    }

    static func problems(_ labels: [String: String], at path: String) -> [SpecProblem] {
        var problems: [SpecProblem] = []
        if labels.count > PolicyLimits.labelsPerObject { problems.append(SpecProblem(path: path, message: "\(labels.count) labels, more than \(PolicyLimits.labelsPerObject)")) }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }).prefix(PolicyLimits.labelsPerObject) {
            if !isKey(key) { problems.append(SpecProblem(path: path, message: "\"\(key.prefix(64))\" is not a label key")) }
            else if !isValue(value) { problems.append(SpecProblem(path: "\(path).\(key)", message: "\"\(value.prefix(64))\" is not a label value")) }
        }
        return problems
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
