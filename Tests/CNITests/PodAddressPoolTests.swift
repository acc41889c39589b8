import Foundation
import Addresses
import Testing
import WeftAgent
import WeftCNI

/// The pod address pool against a real directory: unique, durable, bounded.
@Suite struct PodAddressPoolTests {
    static func directory() -> String {
        let path = NSTemporaryDirectory() + "weft-ipam-\(UUID().uuidString)"
        return path
    }
    static let cidr = IPPrefix("10.244.1.0/24")!
    static func pod(_ n: Int) -> CNIAttachment { CNIAttachment(containerID: "c\(n)", interface: "eth0") }

    @Test func allocatesUniqueAddressesSkippingNetworkBroadcastAndReserved() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pool = try PodAddressPool(directory: dir)
        let first = try pool.allocate(Self.pod(0), in: Self.cidr, reserved: [IPAddress("10.244.1.1")!])
        #expect(first == IPAddress("10.244.1.2"))
        #expect(try pool.allocate(Self.pod(0), in: Self.cidr) == first)  // a repeated ADD keeps its address
        var seen: Set<IPAddress> = [first]
        for n in 1..<253 { seen.insert(try pool.allocate(Self.pod(n), in: Self.cidr, reserved: [IPAddress("10.244.1.1")!])) }
        #expect(seen.count == 253)
        #expect(!seen.contains(IPAddress("10.244.1.0")!) && !seen.contains(IPAddress("10.244.1.255")!))
        #expect(throws: PodAddressPool.Failure.self) { try pool.allocate(Self.pod(999), in: Self.cidr, reserved: [IPAddress("10.244.1.1")!]) }
    }

    @Test func survivesReopeningAndReusesReleasedAddressesLast() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pool = try PodAddressPool(directory: dir)
        let a = try pool.allocate(Self.pod(1), in: Self.cidr)
        let b = try pool.allocate(Self.pod(2), in: Self.cidr)
        #expect(try pool.release(Self.pod(1)) == a)
        #expect(try pool.release(Self.pod(1)) == nil)  // idempotent
        let c = try pool.allocate(Self.pod(3), in: Self.cidr)
        #expect(c != a && c != b)
        let reopened = try PodAddressPool(directory: dir)
        #expect(reopened.allocations == [Self.pod(2): b, Self.pod(3): c])
        let attributes = try FileManager.default.attributesOfItem(atPath: dir)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
    }

    @Test func anUnreadableClaimStaysTaken() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/10.244.1.1"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/not-an-address"))
        let pool = try PodAddressPool(directory: dir)
        #expect(pool.unreadable == ["10.244.1.1"])
        #expect(try pool.allocate(Self.pod(1), in: Self.cidr) == IPAddress("10.244.1.2"))
    }

    @Test func concurrentAllocationsNeverCollide() async throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pool = try PodAddressPool(directory: dir)
        let addresses = try await withThrowingTaskGroup(of: IPAddress.self) { group in
            for n in 0..<60 { group.addTask { try pool.allocate(Self.pod(n), in: Self.cidr) } }
            return try await group.reduce(into: [IPAddress]()) { $0.append($1) }
        }
        #expect(Set(addresses).count == 60)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 60)
    }

    @Test func refusesPrefixesItCannotServe() throws {
        let dir = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pool = try PodAddressPool(directory: dir)
        #expect(throws: PodAddressPool.Failure.self) { try pool.allocate(Self.pod(1), in: IPPrefix("10.244.1.0/31")!) }
        #expect(throws: PodAddressPool.Failure.self) { try pool.allocate(Self.pod(1), in: IPPrefix("2001:db8::/64")!) }
    }
}
