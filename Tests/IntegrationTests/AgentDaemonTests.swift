import Foundation
import Logging
import Testing
import WeftAgentDaemon
import WeftModel
import WeftTestSupport

/// The agent daemon (`weft-agent run` without its option parsing) on the real kernel:
/// its services start, follow the desired-state file, repair what someone deletes, keep
/// the datapath under a refused state, serve /healthz, and stop gracefully leaving the
/// datapath in place.
@Suite("agent daemon on the real kernel", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct AgentDaemonTests {
    func routes(_ ns: TestNamespace) throws -> Set<String> {
        Set(try ns.ipJSON(["route", "show", "proto", "87"]).compactMap { $0["dst"] as? String })
    }

    /// Polls `condition` until it holds or `seconds` pass; the first success ends the wait.
    /// Generous: tests run in parallel on two cores, and the synchronous ones that block
    /// (ping, ip) can keep the daemon's tasks off the cooperative pool for tens of seconds
    /// (seen in the emulated VM: 30 s were not enough).
    func eventually(_ seconds: Double = 180, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try condition()
    }

    func write(_ state: DesiredNodeState, to url: URL) throws {
        try Data(state.encoded()).write(to: url, options: .atomic)
    }

    @Test("follows the file, repairs a deleted route on its netlink event, keeps the datapath under a refused file and at shutdown")
    func lifecycle() async throws {
        let ns = try ReconcilerTests().node()  // a node namespace with its uplink
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-daemon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("desired.json")
        try write(sampleNodeState(peers: 2), to: file)

        var configuration = AgentConfiguration(source: .file(path: file.path, keyFile: nil))
        configuration.namespace = ns.name
        configuration.stateDirectory = directory.path
        configuration.metricsPort = 0
        // A resync far away: whatever the daemon repairs below, an event made it do so.
        configuration.resync = .seconds(3600)
        configuration.kernelPollInterval = .milliseconds(200)
        let daemon = try await AgentDaemon.make(configuration, logger: Logger(label: "weft-agent-test"))
        let port = daemon.metricsEndpoint.port
        func scrape(_ path: String) throws -> String { try run(["curl", "-s", "--max-time", "10", "http://127.0.0.1:\(port)\(path)"]) }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await daemon.run() }
            let two: Set = ["10.244.1.0/24", "10.244.2.0/24"]
            #expect(try await eventually { try routes(ns) == two }, "the first state was applied")

            try write(sampleNodeState(peers: 3, revision: 2), to: file)
            let three = two.union(["10.244.3.0/24"])
            #expect(try await eventually { try routes(ns) == three }, "a new file was followed")

            try ns.ip(["route", "del", "10.244.2.0/24", "proto", "87"])
            #expect(try await eventually { try routes(ns) == three }, "the deleted route came back (netlink event, not resync)")

            try Data("{ not json".utf8).write(to: file, options: .atomic)
            #expect(try await eventually { try scrape("/metrics").contains("weft_agent_desired_refused_total 1") }, "the file was refused")
            try ns.ip(["route", "del", "10.244.3.0/24", "proto", "87"])
            #expect(try await eventually { try routes(ns) == three }, "under a refused file the previous state is still enforced")

            #expect(try scrape("/healthz") == "ok\n")
            let metrics = try scrape("/metrics")
            #expect(metrics.contains("weft_agent_applied_revision 2"), "\(metrics.prefix(400))")

            await daemon.shutDown()
            try await group.next()  // run() returned: every service stopped
        }
        #expect(try routes(ns) == ["10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"], "the datapath stays after shutdown")
        #expect(try ns.ipJSON(["link", "show", "dev", "weft0"]).count == 1)
    }
}
