/// An API object an Event is about.
public struct InvolvedObject: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case node = "Node", pod = "Pod", networkPolicy = "NetworkPolicy" }
    public var kind: Kind
    public var namespace: String?
    public var name: String

    public init(_ kind: Kind, namespace: String? = nil, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// "node n1", "pod x/a", "networkpolicy x/p": how logs name it.
    public var description: String { "\(kind.rawValue.lowercased()) \(namespace.map { "\($0)/" } ?? "")\(name)" }
}
