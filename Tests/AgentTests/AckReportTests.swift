import Netlink
import Testing
import WeftAgent
import WeftControlAPI
@testable import WeftAgentDaemon
import WeftTestSupport

@Suite("the acknowledgement an agent sends")
struct AckReportTests {
    @Test("failed changes go as values (verb, kind, key, errno, kernel message), the first 64 of them, with the total")
    func structuredFailures() {
        var report = ReconcileReport()
        report.failures = (0..<100).map { index in
            let change = ObjectChange.addRoute(IPPrefix("10.\(index / 256).\(index % 256).0/24")!, 0x5700_0002)
            return FailedChange(change: change.change, error: NetlinkError(operation: "\(change)", reason: .kernel(.exists, message: nil)))
        }
        let ack = Weft_V1_AckRequest(state: sampleNodeState(peers: 1, revision: 7), report: report, softExpired: [0x1001])
        #expect(ack.revision == 7 && !ack.succeeded && ack.softExpiredSpis == [0x1001] && ack.installedSpis.isEmpty)
        #expect(ack.failedChanges.count == 64 && ack.failures.count == 64 && ack.failedChangeTotal == 100)
        let first = ack.failedChanges[0]
        #expect(first.verb == "add" && first.kind == "route" && first.object == "10.0.0.0/24" && first.errno == 17)
        #expect(first.message.contains("File exists"), "\(first.message)")
        #expect(ack.failures[0].hasPrefix("add route 10.0.0.0/24 nhid 0x57000002: "))
    }

    @Test("a clean reconcile reports success and no failures")
    func clean() {
        let ack = Weft_V1_AckRequest(state: sampleNodeState(peers: 1), report: ReconcileReport(), softExpired: [])
        #expect(ack.succeeded && ack.failedChanges.isEmpty && ack.failedChangeTotal == 0)
    }
}
