/// A Kubernetes label selector (`metav1.LabelSelector`): `matchLabels` and
/// `matchExpressions`, all of which must hold. The empty selector matches everything; a
/// selector that is absent is a different thing, and the fields holding one are optional.
public struct LabelSelector: Codable, Hashable, Sendable {
    public var matchLabels: [String: String]
    public var matchExpressions: [LabelSelectorRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelSelectorRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public static let everything = LabelSelector()

    public var isEmpty: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        matchLabels.allSatisfy { labels[$0.key] == $0.value } && matchExpressions.allSatisfy { $0.matches(labels) }
    }

    enum CodingKeys: String, CodingKey { case matchLabels, matchExpressions }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        matchLabels = try c.decodeIfPresent([String: String].self, forKey: .matchLabels) ?? [:]
        matchExpressions = try c.decodeIfPresent([LabelSelectorRequirement].self, forKey: .matchExpressions) ?? []
    }
}

/// One expression of a selector: `key In (v1, v2)`, `key NotIn (...)`, `key`, `!key`.
public struct LabelSelectorRequirement: Codable, Hashable, Sendable {
    public enum Operator: String, StrictChoice, Hashable, Sendable, CaseIterable {
        case `in` = "In", notIn = "NotIn", exists = "Exists", doesNotExist = "DoesNotExist"
    }

    public var key: String
    public var `operator`: Operator
    public var values: [String]

    public init(key: String, _ op: Operator, _ values: [String] = []) {
        self.key = key
        self.operator = op
        self.values = values
    }

    /// As `labels.Selector` does: NotIn and DoesNotExist hold for a pod without the key.
    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch self.operator {
        case .in: return value.map(values.contains) ?? false
        case .notIn: return value.map { !values.contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        }
    }

    enum CodingKeys: String, CodingKey { case key, `operator`, values }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        self.operator = try c.decode(Operator.self, forKey: .operator)
        values = try c.decodeIfPresent([String].self, forKey: .values) ?? []
    }
}
