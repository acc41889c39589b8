import Foundation
import Netlink
import Testing

@Suite("netlink events", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct MonitorTests {
    /// Reads events until one matches or the socket's timeout ends the wait.
    func waitFor(_ socket: NetlinkSocket, _ matches: (NetlinkEvent) -> Bool) throws -> Bool {
        for _ in 0..<50 {
            for message in try socket.receive() where matches(try NetlinkEvent(decoding: message, family: socket.family)) {
                return true
            }
        }
        return false
    }

    @Test("link, neighbour and route events from changes made by iproute2")
    func routeEvents() throws {
        let ns = try TestNamespace()
        let socket = try NetlinkSocket(family: .route, namespace: ns.name, timeout: .seconds(5))
        try socket.subscribe([.link, .neighbour, .ipv4Route])
        try ns.addVXLAN()
        #expect(try waitFor(socket) { if case .link(let l, false) = $0 { l.name == "weft0" } else { false } })
        try ns.ip(["neigh", "add", "10.244.1.0", "lladdr", "02:57:46:00:00:02", "dev", "weft0", "nud", "permanent"])
        #expect(try waitFor(socket) { if case .neighbour(let n, false) = $0 { n.destination == IPAddress("10.244.1.0") } else { false } })
        try ns.ip(["route", "add", "10.244.1.0/24", "via", "10.244.1.0", "dev", "weft0", "onlink", "proto", "87"])
        try ns.ip(["route", "del", "10.244.1.0/24"])
        #expect(try waitFor(socket) { if case .route(let r, true) = $0 { r.destination == IPPrefix("10.244.1.0/24") } else { false } })
    }

    @Test("xfrm policy events")
    func xfrmEvents() throws {
        let ns = try TestNamespace()
        let socket = try NetlinkSocket(family: .xfrm, namespace: ns.name, timeout: .seconds(5))
        try socket.subscribe([.xfrmPolicy])
        try ns.ip(["xfrm", "policy", "add", "src", "192.0.2.1/32", "dst", "192.0.2.2/32", "dir", "out",
                   "tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "reqid", "9", "mode", "transport"])
        #expect(try waitFor(socket) { if case .xfrmPolicy(let p, false) = $0 { p.templates.first?.reqid == 9 } else { false } })
        try ns.ip(["xfrm", "policy", "del", "src", "192.0.2.1/32", "dst", "192.0.2.2/32", "dir", "out"])
        #expect(try waitFor(socket) { if case .xfrmPolicy(let p, true) = $0 { p.direction == .out } else { false } })
    }
}
