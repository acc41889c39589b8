/// weftctl's command line, parsed the way iproute2 parses its own: global options first
/// (`-n NETNS`, `-j`, `-d`, `--show-keys`), then an object, then its arguments.
public struct Invocation: Equatable, Sendable {
    public var namespace: String?
    public var json = false
    public var details = false
    public var showKeys = false
    /// `-4` / `-6`: only this family (routes, neighbours, addresses).
    public var family: String?
    public var object: String = ""
    public var arguments: [String] = []

    public struct UsageError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static let usage = """
        Usage: weftctl [OPTIONS] OBJECT [show] [dev NAME] [table ID|all]
               weftctl [OPTIONS] monitor
               weftctl [OPTIONS] diff --desired FILE [--key FILE]
               weftctl [OPTIONS] bpf [pin-root DIR]
               weftctl [-j] token create --node NAME [--ttl 1h] [--admin-socket PATH | --state-dir DIR]
               weftctl [-j] audit verify FILE --ca CA.crt
               weftctl [-j] { status | revoke NODE | rotate } [--admin-socket PATH]
               weftctl [-j] policy check --from NS/POD --to NS/POD|IP --port PROTO/PORT [--admin-socket PATH]
               weftctl [-j] trace --from IP --to IP --port PROTO/PORT [--pin-root DIR]...
        OBJECT := { link | addr | fdb | neigh | route | nexthop | xfrm state | xfrm policy }
        OPTIONS := { -n NETNS | -j | -d | -4 | -6 | --show-keys | -h }
          -n NETNS     run in network namespace NETNS (as ip -n)
          -j           JSON output, field names as in ip -j
          -d           details (link kind data)
          -4, -6       only IPv4 or IPv6 (route, neigh, addr)
          --show-keys  print XFRM keys (never printed otherwise)
        """

    public init(_ argv: [String]) throws {
        var rest = argv[...]
        while let first = rest.first, first.hasPrefix("-") {
            rest = rest.dropFirst()
            switch first {
            case "-n", "-netns", "--netns":
                guard let name = rest.first else { throw UsageError(description: "option \(first) needs a namespace name") }
                namespace = name
                rest = rest.dropFirst()
            case "-j", "-json", "--json": json = true
            case "-d", "-details", "--details": details = true
            case "--show-keys", "-show-keys": showKeys = true
            case "-4": family = "inet"
            case "-6": family = "inet6"
            case "-h", "-help", "--help": object = "help"
            default: throw UsageError(description: "unknown option \"\(first)\"; try \"weftctl -h\"")
            }
        }
        if object == "help" { return }
        guard let first = rest.first else { throw UsageError(description: "no object given; try \"weftctl -h\"") }
        object = first
        arguments = Array(rest.dropFirst())
        if object == "xfrm" {
            guard let sub = arguments.first, ["state", "policy"].contains(sub) else {
                throw UsageError(description: "xfrm needs \"state\" or \"policy\"")
            }
            object = "xfrm \(sub)"
            arguments.removeFirst()
        }
        if arguments.first == "show" || arguments.first == "list" || arguments.first == "ls" { arguments.removeFirst() }
    }

    /// The value after `keyword` in the arguments (`dev weft0` → "weft0").
    public func value(after keyword: String) throws -> String? {
        guard let i = arguments.firstIndex(of: keyword) else { return nil }
        guard i + 1 < arguments.count else { throw UsageError(description: "\"\(keyword)\" needs a value") }
        return arguments[i + 1]
    }

    /// Rejects arguments the object does not understand, so a typo is not silently ignored.
    func allowOnly(_ keywords: Set<String>) throws {
        var i = 0
        while i < arguments.count {
            guard keywords.contains(arguments[i]) else {
                throw UsageError(description: "unknown argument \"\(arguments[i])\" for \(object)")
            }
            i += 2
        }
    }
}
