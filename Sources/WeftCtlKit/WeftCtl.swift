import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// weftctl's read side: what is in the kernel, printed like iproute2 prints it.
public struct WeftCtl {
    public var invocation: Invocation
    /// Where output lines go (stdout in the binary, a buffer in tests).
    public var write: (String) -> Void

    public init(invocation: Invocation, write: @escaping (String) -> Void) {
        self.invocation = invocation
        self.write = write
    }

    /// Parses `argv`, runs, and returns the exit status; errors become one line on stderr.
    public static func main(_ argv: [String]) -> Int32 {
        do {
            let invocation = try Invocation(argv)
            try WeftCtl(invocation: invocation, write: { writeLine($0, to: STDOUT_FILENO) }).run()
            return 0
        } catch let error as Invocation.UsageError {
            printError("weftctl: \(error)")
            return 2
        } catch is AuditFailed {
            return 1
        } catch {
            printError("weftctl: \(error)")
            return 1
        }
    }

    static func printError(_ line: String) { writeLine(line, to: STDERR_FILENO) }

    /// One unbuffered write per line: `weftctl monitor | grep` sees each event at once, and
    /// lines from the two monitor threads never interleave.
    static func writeLine(_ line: String, to fd: Int32) {
        var text = line + "\n"
        text.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    public func run() throws {
        switch invocation.object {
        case "help": write(Invocation.usage)
        case "link": try showLinks()
        case "addr", "address": try showAddresses()
        case "fdb": try showFDB()
        case "neigh", "neighbour", "neighbor": try showNeighbours()
        case "route": try showRoutes()
        case "nexthop": try showNexthops()
        case "xfrm state": try showXfrmStates()
        case "xfrm policy": try showXfrmPolicies()
        case "monitor": try Monitor(invocation: invocation, write: write).run()
        case "diff": try showDiff()
        case "bpf": try showBPF()
        case "token": try tokenCommand()
        case "audit": try auditCommand()
        case "status": try statusCommand()
        case "revoke": try revokeCommand()
        case "rotate": try rotateCommand()
        case "policy": try policyCommand()
        case "trace": try traceCommand()
        default: throw Invocation.UsageError(description: "unknown object \"\(invocation.object)\"; try \"weftctl -h\"")
        }
    }

    func routeSocket() throws -> NetlinkSocket { try NetlinkSocket(family: .route, namespace: invocation.namespace) }

    /// The links, and the index of the one named by `dev NAME` when given.
    func linksAndDevice(_ socket: NetlinkSocket) throws -> ([Link], Int32?) {
        let links = try socket.dump(Link.self)
        guard let dev = try invocation.value(after: "dev") else { return (links, nil) }
        guard let link = links.first(where: { $0.name == dev }) else {
            throw LookupError(description: "Device \"\(dev)\" does not exist.")
        }
        return (links, link.index)
    }

    func emit<T>(_ items: [T], json: (T) -> JSON, text: (T) -> String) {
        if invocation.json {
            write(JSON.array(items.map(json)).rendered())
        } else {
            items.forEach { write(text($0)) }
        }
    }

    func showLinks() throws {
        try invocation.allowOnly(["dev"])
        let socket = try routeSocket()
        let (links, dev) = try linksAndDevice(socket)
        let names = LinkNames(links)
        let shown = links.filter { dev == nil || $0.index == dev }
        emit(shown, json: { LinkFormat.json($0, names, details: invocation.details) },
             text: { LinkFormat.text($0, names, details: invocation.details) })
    }

    func showAddresses() throws {
        try invocation.allowOnly(["dev"])
        let socket = try routeSocket()
        let (links, dev) = try linksAndDevice(socket)
        let addresses = try socket.dump(Address.self).filter { (dev == nil || $0.index == dev) && familyMatches($0.local.address.family) }
        if invocation.json {
            write(AddressFormat.json(addresses, links).rendered())
        } else {
            let names = LinkNames(links)
            addresses.forEach { write(AddressFormat.text($0, names)) }
        }
    }

    func showFDB() throws {
        try invocation.allowOnly(["dev"])
        let socket = try routeSocket()
        let (links, dev) = try linksAndDevice(socket)
        let names = LinkNames(links)
        let entries = try socket.dump(FDBEntry.self).filter { dev == nil || $0.index == dev }
        // As iproute2: the device is not repeated on every entry when it was the filter.
        emit(entries, json: { NeighbourFormat.json($0, names, dev: dev == nil) }, text: { NeighbourFormat.text($0, names, dev: dev == nil) })
    }

    func showNeighbours() throws {
        try invocation.allowOnly(["dev", "nud"])
        let socket = try routeSocket()
        let (links, dev) = try linksAndDevice(socket)
        let names = LinkNames(links)
        // As `ip neigh`: NOARP entries (multicast, broadcast) only with `nud all`.
        let all = try invocation.value(after: "nud") == "all"
        let neighbours = try socket.dump(Neighbour.self).filter { n in
            (dev == nil || n.index == dev) && (all || n.state != .noARP) && familyMatches(n.destination.family)
        }
        emit(neighbours, json: { NeighbourFormat.json($0, names, dev: dev == nil) }, text: { NeighbourFormat.text($0, names, dev: dev == nil) })
    }

    func showRoutes() throws {
        try invocation.allowOnly(["dev", "table", "proto"])
        let socket = try routeSocket()
        let (links, dev) = try linksAndDevice(socket)
        let names = LinkNames(links)
        let table = try tableFilter()
        let proto = try invocation.value(after: "proto").map { text -> UInt8 in
            guard let number = UInt8(text) else { throw Invocation.UsageError(description: "proto must be a number 0-255, got \"\(text)\"") }
            return number
        }
        // As `ip route`: one table means IPv4 unless -6 was given; `table all` shows both.
        let family = invocation.family ?? (table == nil ? nil : "inet")
        let routes = try socket.dump(Route.self).filter { route in
            (table == nil || route.table == table) && (dev == nil || route.outputIndex == dev)
                && (proto == nil || route.protocolID.rawValue == proto)
                && (family == nil || route.destination.address.family.description == family)
        }
        emit(routes, json: { RouteFormat.json($0, names, dev: dev == nil) }, text: { RouteFormat.text($0, names, dev: dev == nil) })
    }

    /// `table main` by default, `table all` for every table, or a number.
    func tableFilter() throws -> RouteTable? {
        switch try invocation.value(after: "table") {
        case nil, "main": return .main
        case "all": return nil
        case "local": return .local
        case "default": return .default
        case let text?:
            guard let id = UInt32(text) else { throw Invocation.UsageError(description: "table must be main, local, all or a number, got \"\(text)\"") }
            return RouteTable(rawValue: id)
        }
    }

    func showNexthops() throws {
        try invocation.allowOnly(["dev"])
        let socket = try routeSocket()
        let (links, dev) = try linksAndDevice(socket)
        let names = LinkNames(links)
        let nexthops = try socket.dump(Nexthop.self).filter { dev == nil || $0.outputIndex == dev }
        emit(nexthops, json: { NexthopFormat.json($0, names) }, text: { NexthopFormat.text($0, names) })
    }

    func familyMatches(_ family: AddressFamily) -> Bool {
        invocation.family == nil || invocation.family == family.description
    }

    func showXfrmStates() throws {
        try invocation.allowOnly([])
        let socket = try NetlinkSocket(family: .xfrm, namespace: invocation.namespace)
        let states = try socket.dump(XfrmState.self)
        let show = invocation.showKeys
        emit(states, json: { XfrmFormat.json($0, showKeys: show) }, text: { XfrmFormat.text($0, showKeys: show) })
    }

    func showXfrmPolicies() throws {
        try invocation.allowOnly([])
        let socket = try NetlinkSocket(family: .xfrm, namespace: invocation.namespace)
        let policies = try socket.dump(XfrmPolicy.self)
        emit(policies, json: { XfrmFormat.json($0) }, text: { XfrmFormat.text($0) })
    }
}

struct LookupError: Error, CustomStringConvertible {
    var description: String
}
