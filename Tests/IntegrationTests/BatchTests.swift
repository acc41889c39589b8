import Foundation
import Netlink
import Testing

@Suite("batched requests on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct BatchTests {
    /// 10.200.x.y for i, a distinct address per index.
    func address(_ i: Int) -> IPAddress { .v4(0x0AC8_0000 | UInt32(i)) }

    @Test("3,000 neighbours in one batch: exactly the three bad ones fail, every good one is in")
    func failuresAreMatchedToTheirRequests() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        let mac = MACAddress("02:57:46:00:00:02")!
        // Pre-existing entries make three of the exclusive adds fail with EEXIST.
        let clashes = [17, 1_500, 2_999]
        for i in clashes { try socket.add(Neighbour(index: index, destination: address(i), linkLayerAddress: mac)) }

        let requests = (0..<3_000).map { Neighbour(index: index, destination: address($0), linkLayerAddress: mac).request(.add) }
        let result = socket.apply(requests)
        #expect(result.failures.map(\.index) == clashes)
        #expect(result.failures.allSatisfy { $0.error.errno == .exists })
        #expect(result.failures.first?.error.description.hasPrefix("add neighbour 10.200.0.17 ifindex \(index): ") == true)
        #expect(result.succeeded == 2_997)

        let count = try ns.ipJSON(["neigh", "show", "dev", "weft0"]).filter { ($0["dst"] as? String)?.hasPrefix("10.200.") == true }.count
        #expect(count == 3_000)
    }

    @Test("mixed kinds in one batch: neighbour, FDB, route in order; then deleted in reverse")
    func mixedKinds() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        var requests: [Request] = []
        var deletes: [Request] = []
        for peer in 1...200 {
            let vtep = IPAddress.v4(0x0AF4_0000 | UInt32(peer) << 8)   // 10.244.peer.0
            let mac = MACAddress(0x0257_4600_0000 | UInt64(peer))
            let underlay = IPAddress.v4(0xC000_0200 | UInt32(peer % 250 + 2))
            var route = Route(destination: IPPrefix(vtep, 24), gateway: vtep, outputIndex: index)
            route.flags = .onLink
            route.protocolID = RouteProtocol(rawValue: 87)
            let objects: [any NetlinkObject] = [
                Neighbour(index: index, destination: vtep, linkLayerAddress: mac),
                FDBEntry(index: index, mac: mac, destination: underlay),
                route,
            ]
            requests += objects.map { $0.request(.add) }
            deletes = objects.map { $0.request(.delete) }.reversed() + deletes
        }
        #expect(socket.apply(requests).failures.isEmpty)
        #expect(try ns.ipJSON(["route", "show", "proto", "87"]).count == 200)
        #expect(try ns.bridgeJSON(["fdb", "show", "dev", "weft0"]).filter { $0["dst"] != nil }.count == 200)
        #expect(try ns.ipJSON(["neigh", "show", "dev", "weft0"]).filter { ($0["dst"] as? String)?.hasPrefix("10.244.") == true }.count == 200)

        #expect(socket.apply(deletes).failures.isEmpty)
        #expect(try ns.ipJSON(["route", "show", "proto", "87"]).isEmpty)
        #expect(try ns.bridgeJSON(["fdb", "show", "dev", "weft0"]).filter { $0["dst"] != nil }.isEmpty)
    }

    @Test("a dump of 5,000 routes spans many datagrams and arrives whole")
    func largeDump() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        let requests = (0..<5_000).map { i -> Request in
            var route = Route(destination: IPPrefix(.v4(0x0A00_0000 | UInt32(i) << 8), 24), outputIndex: index)
            route.scope = .link
            route.protocolID = RouteProtocol(rawValue: 87)
            return route.request(.add)
        }
        #expect(socket.apply(requests).failures.isEmpty)
        let whole = try socket.dump(Route.self).filter { $0.protocolID.rawValue == 87 }
        #expect(whole.count == 5_000)
        // Folded one route at a time as each datagram arrives: the same routes, in order.
        let folded = try socket.dump(Route.self, into: [IPPrefix]()) { if $1.protocolID.rawValue == 87 { $0.append($1.destination) } }
        #expect(folded == whole.map(\.destination))
        // Against iproute2's own dump.
        let listed = try ns.ipJSON(["route", "show", "proto", "87"]).compactMap { $0["dst"] as? String }
        #expect(Set(listed) == Set(folded.map { "\($0)" }))
    }
}
