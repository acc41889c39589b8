import Foundation
import Netlink
import WeftAgent
import WeftModel

extension WeftCtl {
    /// `weftctl diff --desired FILE`: a dry-run reconcile. What the agent would add, change
    /// and remove to make this kernel match FILE, per object kind; nothing is written.
    func showDiff() throws {
        try invocation.allowOnly(["--desired"])
        guard let path = try invocation.value(after: "--desired") else {
            throw Invocation.UsageError(description: "diff needs --desired FILE")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw LookupError(description: "cannot read \(path)") }
        let state = try DesiredNodeState.decode(data)
        let report = try Reconciler(socket: try routeSocket()).plan(state)
        if invocation.json {
            var o = JSONObject()
            o.add("revision", state.revision)
            o.add("device", report.device?.description)
            o.add("changes", strings: report.changes.map(\.description))
            o.add("counts", JSON.object(report.countsByKind.map { count in
                (count.kind, JSON.object([("add", .unsigned(UInt64(count.added))), ("replace", .unsigned(UInt64(count.replaced))),
                                          ("delete", .unsigned(UInt64(count.deleted)))]))
            }))
            write(o.json.rendered())
            return
        }
        if let device = report.device { write(device.description) }
        report.changes.forEach { write($0.description) }
        let counts = report.countsByKind.map { "\($0.kind) +\($0.added) ~\($0.replaced) -\($0.deleted)" }
        write("revision \(state.revision): \(report.changes.count + (report.device == nil ? 0 : 1)) changes (\(counts.joined(separator: ", ")))")
    }
}
