import WeftModel

/// The API server's validation of a NetworkPolicy (`ValidateNetworkPolicy` in
/// pkg/apis/networking/validation), for policies that never passed through one (the
/// cluster file), plus Weft's bounds on every count a policy author controls.
public enum PolicyLimits {
    public static let rulesPerDirection = 256
    public static let peersPerRule = 256
    public static let portsPerRule = 256
    public static let exceptPerBlock = 256
    public static let expressionsPerSelector = 64
    public static let valuesPerExpression = 256
    public static let labelsPerObject = 256
}

extension NetworkPolicy {
    func problems(at path: String) -> [SpecProblem] {
        var problems: [SpecProblem] = []
        func problem(_ at: String, _ message: String) { problems.append(SpecProblem(path: at, message: message)) }
        if !NodeName.isValid(metadata.name) { problem("\(path).metadata.name", "\"\(metadata.name.prefix(64))\" is not a DNS-1123 subdomain") }
        if !Labels.isDNSLabel(metadata.namespace) { problem("\(path).metadata.namespace", "\"\(metadata.namespace.prefix(64))\" is not a DNS-1123 label") }
        problems += spec.podSelector.problems(at: "\(path).spec.podSelector")
        if Set(spec.policyTypes).count != spec.policyTypes.count { problem("\(path).spec.policyTypes", "names a type twice") }
        for direction in PolicyDirection.allCases {
            let rules = spec.rules(direction), key = direction == .ingress ? "ingress" : "egress", peersKey = direction == .ingress ? "from" : "to"
            if rules.count > PolicyLimits.rulesPerDirection { problem("\(path).spec.\(key)", "\(rules.count) rules, more than \(PolicyLimits.rulesPerDirection)") }
            for (i, rule) in rules.prefix(PolicyLimits.rulesPerDirection).enumerated() {
                let at = "\(path).spec.\(key)[\(i)]"
                if rule.peers.count > PolicyLimits.peersPerRule { problem("\(at).\(peersKey)", "\(rule.peers.count) peers, more than \(PolicyLimits.peersPerRule)") }
                if rule.ports.count > PolicyLimits.portsPerRule { problem("\(at).ports", "\(rule.ports.count) ports, more than \(PolicyLimits.portsPerRule)") }
                for (j, peer) in rule.peers.prefix(PolicyLimits.peersPerRule).enumerated() { problems += peer.problems(at: "\(at).\(peersKey)[\(j)]") }
                for (j, port) in rule.ports.prefix(PolicyLimits.portsPerRule).enumerated() { problems += port.problems(at: "\(at).ports[\(j)]") }
            }
        }
        return problems
    }
}

extension NetworkPolicyPeer {
    func problems(at path: String) -> [SpecProblem] {
        var problems: [SpecProblem] = []
        if let block = ipBlock {
            if podSelector != nil || namespaceSelector != nil {
                problems.append(SpecProblem(path: path, message: "ipBlock may not be combined with podSelector or namespaceSelector"))
            }
            problems += block.problems(at: "\(path).ipBlock")
        } else if podSelector == nil && namespaceSelector == nil {
            problems.append(SpecProblem(path: path, message: "must name a podSelector, a namespaceSelector or an ipBlock"))
        }
        problems += podSelector?.problems(at: "\(path).podSelector") ?? []
        problems += namespaceSelector?.problems(at: "\(path).namespaceSelector") ?? []
        return problems
    }
}

extension IPBlock {
    /// As the API server: `except` entries lie inside `cidr` and are narrower. IPv4 only
    /// (Weft's pod network is IPv4 today); an IPv6 block is refused with that reason.
    func problems(at path: String) -> [SpecProblem] {
        guard let block = IPv4Prefix(cidr) else {
            let why = cidr.contains(":") ? "IPv6 blocks are not supported yet (Weft's pod network is IPv4)" : "is not an IPv4 CIDR"
            return [SpecProblem(path: "\(path).cidr", message: "\"\(cidr.prefix(64))\" \(why)")]
        }
        var problems: [SpecProblem] = []
        if except.count > PolicyLimits.exceptPerBlock { problems.append(SpecProblem(path: "\(path).except", message: "\(except.count) entries, more than \(PolicyLimits.exceptPerBlock)")) }
        for (i, text) in except.prefix(PolicyLimits.exceptPerBlock).enumerated() {
            guard let hole = IPv4Prefix(text) else { problems.append(SpecProblem(path: "\(path).except[\(i)]", message: "\"\(text.prefix(64))\" is not an IPv4 CIDR")); continue }
            if !block.contains(hole.address) || hole.length <= block.length {
                problems.append(SpecProblem(path: "\(path).except[\(i)]", message: "\(text) must be a strict subset of \(cidr)"))
            }
        }
        return problems
    }
}

extension NetworkPolicyPort {
    func problems(at path: String) -> [SpecProblem] {
        var problems: [SpecProblem] = []
        switch port {
        case nil:
            if endPort != nil { problems.append(SpecProblem(path: "\(path).endPort", message: "needs a numeric port")) }
        case .number(let first):
            if !(1...65_535).contains(first) { problems.append(SpecProblem(path: "\(path).port", message: "\(first) is not in 1-65535")) }
            // (no `first...65_535`: a port above 65535 would trap building the range)
            if let last = endPort, !(first <= last && last <= 65_535) {
                problems.append(SpecProblem(path: "\(path).endPort", message: "\(last) is not in \(first)-65535 (it must not be below port)"))
            }
        case .name(let name):
            if !Labels.isServiceName(name) { problems.append(SpecProblem(path: "\(path).port", message: "\"\(name.prefix(64))\" is not a port name (IANA_SVC_NAME: 1-15 of a-z, 0-9, '-', with a letter)")) }
            if endPort != nil { problems.append(SpecProblem(path: "\(path).endPort", message: "may not be used with a named port")) }
        }
        return problems
    }
}

extension LabelSelector {
    func problems(at path: String) -> [SpecProblem] {
        var problems = Labels.problems(matchLabels, at: "\(path).matchLabels")
        if matchExpressions.count > PolicyLimits.expressionsPerSelector {
            problems.append(SpecProblem(path: "\(path).matchExpressions", message: "\(matchExpressions.count) expressions, more than \(PolicyLimits.expressionsPerSelector)"))
        }
        for (i, expression) in matchExpressions.prefix(PolicyLimits.expressionsPerSelector).enumerated() {
            let at = "\(path).matchExpressions[\(i)]"
            if !Labels.isKey(expression.key) { problems.append(SpecProblem(path: "\(at).key", message: "\"\(expression.key.prefix(64))\" is not a label key")) }
            switch expression.operator {
            case .in, .notIn:
                if expression.values.isEmpty { problems.append(SpecProblem(path: "\(at).values", message: "\(expression.operator.rawValue) needs at least one value")) }
            case .exists, .doesNotExist:
                if !expression.values.isEmpty { problems.append(SpecProblem(path: "\(at).values", message: "\(expression.operator.rawValue) takes no values")) }
            }
            if expression.values.count > PolicyLimits.valuesPerExpression {
                problems.append(SpecProblem(path: "\(at).values", message: "\(expression.values.count) values, more than \(PolicyLimits.valuesPerExpression)"))
            }
            for value in expression.values.prefix(PolicyLimits.valuesPerExpression) where !Labels.isValue(value) {
                problems.append(SpecProblem(path: "\(at).values", message: "\"\(value.prefix(64))\" is not a label value"))
            }
        }
        return problems
    }
}
