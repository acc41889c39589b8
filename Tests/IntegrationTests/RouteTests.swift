import Foundation
import Netlink
import Testing

@Suite("routes on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct RouteTests {
    static let weftProtocol = RouteProtocol(rawValue: 87)

    func onlinkRoute(_ index: Int32, _ cidr: String, via gateway: String) -> Route {
        var route = Route(destination: IPPrefix(cidr)!, gateway: IPAddress(gateway), outputIndex: index)
        route.flags = .onLink
        route.protocolID = Self.weftProtocol
        return route
    }

    @Test("onlink route with Weft's protocol: add, replace, delete")
    func onlink() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        var route = onlinkRoute(index, "10.244.1.0/24", via: "10.244.1.0")
        try socket.add(route)
        var seen = try ns.ipJSON(["route", "show", "10.244.1.0/24"])
        #expect(seen.count == 1)
        #expect(seen.first?["gateway"] as? String == "10.244.1.0")
        #expect(seen.first?["dev"] as? String == "weft0")
        #expect(seen.first?["protocol"] as? String == "87")
        #expect((seen.first?["flags"] as? [String])?.contains("onlink") == true)

        route.gateway = IPAddress("10.244.1.1")
        try socket.replace(route)
        seen = try ns.ipJSON(["route", "show", "10.244.1.0/24"])
        #expect(seen.count == 1 && seen.first?["gateway"] as? String == "10.244.1.1")
        let dumped = try socket.dump(Route.self).filter { $0.protocolID == Self.weftProtocol }
        #expect(dumped == [route])

        try socket.delete(route)
        #expect(try ns.ipJSON(["route", "show", "10.244.1.0/24"]).isEmpty)
    }

    @Test("a table above 255 goes in RTA_TABLE")
    func bigTable() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        var route = Route(destination: IPPrefix("10.245.0.0/16")!, outputIndex: index)
        route.table = RouteTable(rawValue: 1000)
        route.scope = .link
        try ns.socket().add(route)
        let seen = try ns.ipJSON(["route", "show", "table", "1000"])
        #expect(seen.first?["dst"] as? String == "10.245.0.0/16")
        #expect(try ns.socket().dump(Route.self).contains { $0.table.rawValue == 1000 && $0.destination == route.destination })
    }

    @Test("the kernel's extended-ack text reaches the error")
    func extendedAck() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        // A gateway that is not on-link, without the onlink flag: the kernel explains why.
        let route = Route(destination: IPPrefix("10.244.9.0/24")!, gateway: IPAddress("10.244.9.1"), outputIndex: index)
        let error = try #require(throws: NetlinkError.self) { try ns.socket().add(route) }
        guard case .kernel(_, let message) = error.reason else { Issue.record("reason \(error.reason)"); return }
        #expect(message?.isEmpty == false, "no extended-ack message in \(error)")
        #expect(error.description.hasPrefix("add route 10.244.9.0/24 table main: "))
    }
}

@Suite("nexthop objects on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct NexthopTests {
    @Test("an onlink nexthop and a route through it (nhid); iproute2 agrees; delete")
    func nexthopRoute() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        var nexthop = Nexthop(id: 7, gateway: IPAddress("10.244.1.0"), outputIndex: index, flags: .onLink)
        nexthop.protocolID = RouteProtocol(rawValue: 87)
        var route = Route(destination: IPPrefix("10.244.1.0/24")!)
        route.nexthopID = 7
        route.protocolID = RouteProtocol(rawValue: 87)
        #expect(socket.apply([nexthop.request(.add), route.request(.add)]).failures.isEmpty)

        let seenNexthop = try #require(try ns.ipJSON(["nexthop", "show", "id", "7"]).first)
        #expect(seenNexthop["gateway"] as? String == "10.244.1.0" && seenNexthop["dev"] as? String == "weft0")
        #expect((seenNexthop["flags"] as? [String])?.contains("onlink") == true && seenNexthop["protocol"] as? String == "87")
        let seenRoute = try #require(try ns.ipJSON(["route", "show", "10.244.1.0/24"]).first)
        #expect(seenRoute["nhid"] as? Int == 7 && seenRoute["gateway"] as? String == "10.244.1.0")

        let dumped = try #require(try socket.dump(Nexthop.self).first)
        #expect(dumped.id == 7 && dumped.gateway == nexthop.gateway && dumped.outputIndex == index && dumped.flags.contains(.onLink))
        #expect(try socket.dump(Route.self).contains { $0.nexthopID == 7 && $0.destination == route.destination })

        #expect(socket.apply([route.request(.delete), nexthop.request(.delete)]).failures.isEmpty)
        #expect(try ns.ipJSON(["nexthop", "show"]).isEmpty)
        #expect(try ns.ipJSON(["route", "show", "10.244.1.0/24"]).isEmpty)
    }
}
