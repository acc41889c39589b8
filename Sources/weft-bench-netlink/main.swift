// Programs N neighbours, N FDB entries and N onlink routes on a VXLAN device through
// Weft's netlink layer, or deletes them: the Weft half of scripts/bench-netlink, which
// times this against `ip -batch` / `bridge -batch` for the same objects.
//
// Usage: weft-bench-netlink add|delete gateway|nexthop NETNS DEV COUNT
// The objects are a pure function of the index, the same ones bench-netlink's batch
// files name: neighbour 10.200.X.Y, MAC 02:57:46:00:X:Y, FDB dst 198.51.100.(1 + i % 250),
// route 10.(64+X).Y.0/24 either via the neighbour inline (`gateway`) or through nexthop
// object id i+1 that points at it (`nexthop`, Weft's datapath shape).
import Foundation
import Netlink

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("weft-bench-netlink: \(message)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 6, ["add", "delete"].contains(arguments[1]), ["gateway", "nexthop"].contains(arguments[2]),
      let count = Int(arguments[5]), count > 0, count <= 65_536 else {
    fail("usage: weft-bench-netlink add|delete gateway|nexthop NETNS DEV COUNT (COUNT 1-65536)")
}
let adding = arguments[1] == "add"
let viaNexthop = arguments[2] == "nexthop"

do {
    let socket = try NetlinkSocket(family: .route, namespace: arguments[3])
    let dev = try socket.link(named: arguments[4]).index
    let operation: Netlink.Operation = adding ? .add : .delete
    let proto = RouteProtocol(rawValue: 87)
    var neighbours: [Request] = [], fdb: [Request] = [], nexthops: [Request] = [], routes: [Request] = []
    for i in 0..<count {
        let x = UInt32(i >> 8), y = UInt32(i & 0xff)
        let vtep = IPAddress.v4(0x0AC8_0000 | x << 8 | y)
        let mac = MACAddress(0x0257_4600_0000 | UInt64(i))
        var route = Route(destination: IPPrefix(.v4(0x0A00_0000 | (64 + x) << 16 | y << 8), 24))
        route.protocolID = proto
        if viaNexthop {
            var nexthop = Nexthop(id: UInt32(i + 1), gateway: vtep, outputIndex: dev, flags: .onLink)
            nexthop.protocolID = proto
            nexthops.append(nexthop.request(operation))
            route.nexthopID = nexthop.id
        } else {
            (route.gateway, route.outputIndex, route.flags) = (vtep, dev, .onLink)
        }
        neighbours.append(Neighbour(index: dev, destination: vtep, linkLayerAddress: mac).request(operation))
        fdb.append(FDBEntry(index: dev, mac: mac, destination: .v4(0xC633_6400 | UInt32(1 + i % 250))).request(operation))
        routes.append(route.request(operation))
    }
    // Add in dependency order (neighbour, FDB, nexthop, route); delete in reverse.
    let requests = adding ? neighbours + fdb + nexthops + routes : routes + nexthops + fdb + neighbours
    let start = ContinuousClock.now
    let result = socket.apply(requests)
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("{\"operation\":\"\(arguments[1])\",\"objects\":\(requests.count),\"failures\":\(result.failures.count),\"apply_s\":\(seconds)}")
    if let first = result.failures.first { fail("\(result.failures.count) failed, first: \(first.error)") }
} catch {
    fail("\(error)")
}
