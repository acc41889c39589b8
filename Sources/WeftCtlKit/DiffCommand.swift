import Crypto
import Foundation
import Netlink
import WeftAgent
import WeftModel

extension WeftCtl {
    /// `weftctl diff --desired FILE [--key FILE] [--pin-root DIR]`: a dry-run reconcile. What
    /// the agent would add, change and remove to make this kernel match FILE, per object
    /// kind (the device, XFRM states and policies, the overlay objects, and with
    /// `--pin-root` the trust maps' entries and the tc filters); nothing is written. An
    /// encrypted state's SAs are derived with the node's key-agreement key (`--key`);
    /// without it XFRM is left out, and the output says so.
    func showDiff() throws {
        try invocation.allowOnly(["--desired", "--key", "--pin-root"])
        guard let path = try invocation.value(after: "--desired") else {
            throw Invocation.UsageError(description: "diff needs --desired FILE")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw LookupError(description: "cannot read \(path)") }
        let state = try DesiredNodeState.decode(data)
        let key = try invocation.value(after: "--key").map(KeyFile.keyAgreementKey)
        let xfrmCompared = !state.cluster.encryption || key != nil
        let xfrm = xfrmCompared ? try NetlinkSocket(family: .xfrm, namespace: invocation.namespace) : nil
        let socket = try routeSocket()
        var report = try Reconciler(socket: socket, xfrm: xfrm, privateKey: key).plan(state)
        if let pinRoot = try invocation.value(after: "--pin-root") {
            let devices = Dictionary(uniqueKeysWithValues: [(TrustProgram.Device.uplink, state.node.uplink), (.overlay, state.node.device)].map { device, name in
                (device, (name: name, index: (try? socket.link(named: name))?.index))
            })
            let trust = try TrustPlan.changes(state, pinRoot: pinRoot, devices: devices, namespace: invocation.namespace)
            report.trustChanges = trust.changes
            report.refused += trust.refused
        }
        let counts = report.counts.filter { $0.total > 0 }
        if invocation.json {
            var o = JSONObject()
            o.add("revision", state.revision)
            o.add("device", report.device?.description)
            o.add("changes", JSON.array(report.allChanges.map(Self.json)))
            o.add("refused", JSON.array(report.refused.map { .object([("change", Self.json($0.change)), ("reason", .string($0.reason))]) }))
            o.add("counts", JSON.object(counts.map { count in
                (count.kind.rawValue, JSON.object([("add", .unsigned(UInt64(count.added))), ("replace", .unsigned(UInt64(count.changed))),
                                                   ("delete", .unsigned(UInt64(count.deleted)))]))
            }))
            o.add("xfrm_compared", xfrmCompared)
            write(o.json.rendered())
            return
        }
        report.forEachChange { write($0.description) }
        report.refused.forEach { write("refused: \($0)") }
        if !xfrmCompared { write("xfrm: not compared (an encrypted state needs --key FILE, the node's key-agreement key)") }
        let listed = counts.isEmpty ? "" : " (\(counts.map(\.description).joined(separator: ", ")))"
        write("revision \(state.revision): \(report.changeCount) changes\(listed)")
    }

    static func json(_ change: Change) -> JSON {
        var fields: [(String, JSON)] = [("verb", .string(change.verb.rawValue)), ("kind", .string(change.kind.rawValue)),
                                        ("object", .string(change.object))]
        if !change.detail.isEmpty { fields.append(("detail", .string(change.detail))) }
        if let reason = change.reason { fields.append(("reason", .string(reason))) }
        return .object(fields)
    }

}
