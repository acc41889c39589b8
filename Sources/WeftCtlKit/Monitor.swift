import Foundation
import Netlink

/// `weftctl monitor`: prints link, neighbour, FDB, route and XFRM events as they happen,
/// one line (or one JSON object) per event, until interrupted, like `ip monitor`.
struct Monitor {
    var invocation: Invocation
    var write: (String) -> Void

    func run() throws {
        try invocation.allowOnly([])
        let route = try NetlinkSocket(family: .route, namespace: invocation.namespace)
        try route.subscribe([.link, .neighbour, .ipv4Address, .ipv6Address, .ipv4Route, .ipv6Route, .nexthop])
        route.waitForeverForEvents()
        let xfrm = try NetlinkSocket(family: .xfrm, namespace: invocation.namespace)
        try xfrm.subscribe([.xfrmSA, .xfrmPolicy, .xfrmExpire])
        xfrm.waitForeverForEvents()
        let links = try NetlinkSocket(family: .route, namespace: invocation.namespace).dump(Link.self)
        let printer = EventPrinter(names: LinkNames(links), json: invocation.json, showKeys: invocation.showKeys, write: write)
        let xfrmThread = Thread { printer.pump(xfrm) }
        xfrmThread.start()
        printer.pump(route)
    }
}

/// Formats events; shared by the two reader threads, so output lines never interleave.
final class EventPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var names: LinkNames
    private let json: Bool
    private let showKeys: Bool
    private let write: (String) -> Void

    init(names: LinkNames, json: Bool, showKeys: Bool, write: @escaping (String) -> Void) {
        self.names = names
        self.json = json
        self.showKeys = showKeys
        self.write = write
    }

    /// Reads events until the socket fails; a malformed message is reported and skipped.
    func pump(_ socket: NetlinkSocket) {
        while true {
            let messages: [Message]
            do { messages = try socket.receive() } catch {
                print(line: "error: \(error)")
                if error.errno == .noBufferSpace { continue }  // overrun: events were lost, keep going
                return
            }
            for message in messages {
                do { print(try NetlinkEvent(decoding: message, family: socket.family)) } catch {
                    print(line: "error: \(error)")
                }
            }
        }
    }

    private func print(line: String) {
        lock.lock()
        defer { lock.unlock() }
        write(line)
    }

    func print(_ event: NetlinkEvent) {
        lock.lock()
        defer { lock.unlock() }
        if case .link(let link, let removed) = event {
            if removed { names.names[link.index] = nil } else { names.names[link.index] = link.name }
        }
        guard let (kind, removed, body, text) = render(event) else { return }
        if json {
            write(JSON.object([("event", .string(kind)), ("deleted", .bool(removed)), ("object", body)]).rendered())
        } else {
            write("[\(kind.uppercased())]" + (removed ? "Deleted " : "") + text)
        }
    }

    private func render(_ event: NetlinkEvent) -> (String, Bool, JSON, String)? {
        switch event {
        case .link(let l, let removed):
            return ("link", removed, LinkFormat.json(l, names, details: false), LinkFormat.text(l, names, details: false))
        case .address(let a, let removed):
            return ("addr", removed, AddressFormat.info(a), AddressFormat.text(a, names))
        case .neighbour(let n, let removed):
            return ("neigh", removed, NeighbourFormat.json(n, names), NeighbourFormat.text(n, names))
        case .fdb(let e, let removed):
            return ("fdb", removed, NeighbourFormat.json(e, names), NeighbourFormat.text(e, names))
        case .route(let r, let removed):
            return ("route", removed, RouteFormat.json(r, names), RouteFormat.text(r, names))
        case .nexthop(let n, let removed):
            return ("nexthop", removed, NexthopFormat.json(n, names), NexthopFormat.text(n, names))
        case .xfrmState(let s, let removed):
            return ("xfrm state", removed, XfrmFormat.json(s, showKeys: showKeys), XfrmFormat.text(s, showKeys: showKeys))
        case .xfrmPolicy(let p, let removed):
            return ("xfrm policy", removed, XfrmFormat.json(p), XfrmFormat.text(p))
        case .xfrmExpire(let e):
            let text = "\(e.hard ? "hard" : "soft") expire " + XfrmFormat.text(e.state, showKeys: showKeys)
            return ("xfrm expire", e.hard, XfrmFormat.json(e.state, showKeys: showKeys), text)
        case .xfrmFlush(let what):
            return ("xfrm flush", true, .string(what), "flush \(what)")
        case .other:
            return nil
        }
    }
}
