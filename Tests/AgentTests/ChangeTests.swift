import Netlink
import Testing
import WeftAgent
import WeftTestSupport

@Suite("changes as values")
struct ChangeTests {
    @Test("each change says its verb, kind, key and detail; the text is derived from them")
    func fields() throws {
        let route = ObjectChange.addRoute(IPPrefix("10.244.2.0/24")!, 0x5700_0003).change
        #expect(route.verb == .add && route.kind == .route && route.object == "10.244.2.0/24" && route.detail == "nhid 0x57000003")
        #expect(route.description == "add route 10.244.2.0/24 nhid 0x57000003")
        let nexthop = ObjectChange.deleteNexthop(0x5700_0003, IPAddress("192.0.2.3")!).change
        #expect(nexthop.object == "id 0x57000003" && nexthop.description == "delete nexthop id 0x57000003 via 192.0.2.3")
        let device = DeviceChange.recreate(try DesiredDatapath(sampleNodeState(peers: 1)).device, reason: "VNI 7 → 42").change
        #expect(device.verb == .recreate && device.kind == .device && device.object == "weft0" && device.reason == "VNI 7 → 42")
        #expect(device.description == "recreate vxlan device weft0: VNI 7 → 42")
    }

    @Test("a report lists every change in applying order and counts them per kind from their verbs")
    func reportOrderAndCounts() throws {
        let desired = try DesiredDatapath(sampleNodeState(peers: 2))
        var report = ReconcileReport(device: .create(desired.device))
        report.changes = diff(desired: desired.objects, observed: OverlayObjects())
        #expect(report.allChanges.first?.kind == .device && report.allChanges.count == report.changeCount && report.changeCount == 10)
        let counts = report.counts.filter { $0.total > 0 }.map(\.description)
        #expect(counts == ["vxlan device +1 ~0 -0", "address +1 ~0 -0", "neighbour +2 ~0 -0", "fdb +2 ~0 -0", "nexthop +2 ~0 -0", "route +2 ~0 -0"])
        let removal = diff(desired: OverlayObjects(), observed: desired.objects)
        #expect(ChangeCount.of(removal.map(\.change)).filter { $0.total > 0 }.allSatisfy { $0.added == 0 && $0.changed == 0 && $0.deleted > 0 })
    }
}
