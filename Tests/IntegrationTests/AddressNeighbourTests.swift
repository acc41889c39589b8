import Foundation
import Netlink
import Testing

@Suite("addresses, neighbours and FDB on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct AddressNeighbourTests {
    @Test("IPv4 and IPv6 addresses: add, dump, delete")
    func addresses() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        let v4 = Address(index: index, local: IPPrefix("192.0.2.1/24")!)
        let v6 = Address(index: index, local: IPPrefix("2001:db8::1/64")!, flags: .noDAD)
        try socket.add(v4)
        try socket.add(v6)
        let info = try #require(try ns.ipJSON(["addr", "show", "dev", "weft0"]).first?["addr_info"] as? [[String: Any]])
        let locals = info.compactMap { entry -> String? in
            guard let local = entry["local"] as? String, let length = entry["prefixlen"] as? Int else { return nil }
            return "\(local)/\(length)"
        }
        #expect(locals.contains("192.0.2.1/24"))
        #expect(locals.contains("2001:db8::1/64"))
        let dumped = try socket.dump(Address.self).filter { $0.index == index }
        #expect(dumped.contains { $0.local == v4.local && $0.scope == .universe })
        #expect(dumped.contains { $0.local == v6.local && $0.flags.contains(.noDAD) })
        try socket.delete(v4)
        #expect(try socket.dump(Address.self).contains { $0.local == v4.local } == false)
    }

    @Test("permanent neighbour: add, replace, delete; iproute2 agrees")
    func neighbours() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        var neighbour = Neighbour(index: index, destination: IPAddress("10.244.1.0")!, linkLayerAddress: MACAddress("02:57:46:00:00:02"))
        try socket.add(neighbour)
        var seen = try ns.ipJSON(["neigh", "show", "dev", "weft0"]).filter { $0["dst"] as? String == "10.244.1.0" }
        #expect(seen.first?["lladdr"] as? String == "02:57:46:00:00:02")
        #expect(seen.first?["state"] as? [String] == ["PERMANENT"])

        neighbour.linkLayerAddress = MACAddress("02:57:46:00:00:03")
        #expect(throws: NetlinkError.self) { try socket.add(neighbour) }
        try socket.replace(neighbour)
        seen = try ns.ipJSON(["neigh", "show", "dev", "weft0"]).filter { $0["dst"] as? String == "10.244.1.0" }
        #expect(seen.first?["lladdr"] as? String == "02:57:46:00:00:03")
        #expect(try socket.dump(Neighbour.self).contains(neighbour))

        try socket.delete(neighbour)
        #expect(try ns.ipJSON(["neigh", "show", "dev", "weft0"]).allSatisfy { $0["dst"] as? String != "10.244.1.0" })
    }

    @Test("FDB: append flood entries for two VTEPs and one unicast; bridge sees NDA_DST")
    func fdb() throws {
        let ns = try TestNamespace()
        let index = try ns.addVXLAN()
        let socket = try ns.socket()
        let zero = MACAddress(0)
        let flood1 = FDBEntry(index: index, mac: zero, destination: IPAddress("192.0.2.2"))
        let flood2 = FDBEntry(index: index, mac: zero, destination: IPAddress("192.0.2.3"))
        let unicast = FDBEntry(index: index, mac: MACAddress("02:57:46:00:00:02")!, destination: IPAddress("192.0.2.2"))
        try socket.append(flood1)
        try socket.append(flood2)
        try socket.add(unicast)
        let seen = try ns.bridgeJSON(["fdb", "show", "dev", "weft0"])
        func has(_ mac: String, _ dst: String) -> Bool {
            seen.contains { $0["mac"] as? String == mac && $0["dst"] as? String == dst && ($0["flags"] as? [String])?.contains("self") == true && $0["state"] as? String == "permanent" }
        }
        #expect(has("00:00:00:00:00:00", "192.0.2.2"))
        #expect(has("00:00:00:00:00:00", "192.0.2.3"))
        #expect(has("02:57:46:00:00:02", "192.0.2.2"))

        let dumped = try socket.dump(FDBEntry.self).filter { $0.index == index && $0.destination != nil }
        #expect(Set(dumped.map(\.destination)) == [IPAddress("192.0.2.2"), IPAddress("192.0.2.3")])
        #expect(dumped.count == 3)

        try socket.delete(flood2)
        let after = try ns.bridgeJSON(["fdb", "show", "dev", "weft0"])
        #expect(after.contains { $0["dst"] as? String == "192.0.2.3" } == false)
        #expect(after.contains { $0["dst"] as? String == "192.0.2.2" && $0["mac"] as? String == "00:00:00:00:00:00" })
    }
}
