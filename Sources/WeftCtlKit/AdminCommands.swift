import Dispatch
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WeftControlAPI
import WeftPKI

/// `weftctl status | revoke NODE | rotate`: calls to a running controller over its admin
/// socket (`--admin-socket`, default /var/lib/weft-controller/admin/admin.sock): run them
/// on the controller's host, or with `kubectl exec` in its pod.
extension WeftCtl {
    static let defaultAdminSocket = controllerStateDirectory + "/admin/admin.sock"

    /// `weftctl [-j] status [--admin-socket PATH]`: per node, its desired and acknowledged
    /// revisions, the lag, since when it is pending, its stream, certificate and epochs.
    func statusCommand() throws {
        try invocation.allowOnly(["--admin-socket"])
        let status = try callAdmin { try await $0.status(Weft_V1_StatusRequest()) }
        let now = Date()
        if invocation.json {
            var o = JSONObject()
            o.add("current_epoch", UInt64(status.currentEpoch))
            o.add("target_epoch", UInt64(status.targetEpoch))
            o.add("nodes", .array(status.nodes.map { node in
                var n = JSONObject()
                n.add("name", node.name)
                n.add("joined", node.joined)
                n.add("revoked", node.revoked)
                n.add("connected", node.connected)
                n.add("desired_revision", node.desiredRevision)
                n.add("applied_revision", node.appliedRevision)
                n.add("lag", node.desiredRevision - min(node.appliedRevision, node.desiredRevision))
                n.add("pending_ms", node.pendingSinceUnixMs == 0 ? nil : max(0, Int64(now.timeIntervalSince1970 * 1000) - node.pendingSinceUnixMs))
                n.add("certificate_expires", node.certificateExpiresUnix == 0 ? nil : Self.iso(node.certificateExpiresUnix))
                n.add("inbound_epoch", UInt64(node.inboundEpoch))
                n.add("outbound_epoch", UInt64(node.outboundEpoch))
                n.add("failed_change_count", UInt64(node.failedChangeCount))
                n.add("failed_changes", .array(node.failedChanges.map { failure in
                    .object([("verb", .string(failure.verb)), ("kind", .string(failure.kind)), ("object", .string(failure.object)),
                             ("errno", .number(Int64(failure.errno))), ("message", .string(failure.message))])
                }))
                return n.json
            }))
            write(o.json.rendered())
            return
        }
        write("epoch \(status.currentEpoch)" + (status.targetEpoch != status.currentEpoch ? " rotating to \(status.targetEpoch)" : ""))
        var rows = [["NODE", "STATE", "REVISION", "APPLIED", "LAG", "PENDING", "CERT-EXPIRES", "EPOCH-IN/OUT"]]
        for node in status.nodes {
            let state = node.revoked ? "revoked" : !node.joined ? "not-joined" : node.connected ? "connected" : "disconnected"
            let pending = node.pendingSinceUnixMs == 0 ? "-" : Self.age(now.timeIntervalSince1970 - Double(node.pendingSinceUnixMs) / 1000)
            rows.append([node.name, state, "\(node.desiredRevision)", "\(node.appliedRevision)",
                         "\(node.desiredRevision - min(node.appliedRevision, node.desiredRevision))", pending,
                         node.certificateExpiresUnix == 0 ? "-" : Self.iso(node.certificateExpiresUnix),
                         "\(node.inboundEpoch)/\(node.outboundEpoch)"])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            write(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
        // What kept a node from converging, as its agent reported it (the first few).
        for node in status.nodes where node.failedChangeCount > 0 {
            write("\(node.name): \(node.failedChangeCount) changes failed in its last reconcile")
            for failure in node.failedChanges {
                write("  " + AuditEntry.bounded("\(failure.verb) \(failure.kind) \(failure.object): \(failure.message)", limit: 2048))
            }
        }
    }


    /// `weftctl revoke NODE [--admin-socket PATH]`: at once and for good (docs/operations.md).
    func revokeCommand() throws {
        guard let node = invocation.arguments.first, !node.hasPrefix("-") else { throw Invocation.UsageError(description: "usage: weftctl revoke NODE") }
        var rest = invocation
        rest.arguments.removeFirst()
        try rest.allowOnly(["--admin-socket"])
        var request = Weft_V1_RevokeRequest()
        request.node = node
        let sent = request
        let response = try callAdmin { try await $0.revoke(sent) }
        if invocation.json {
            var o = JSONObject()
            o.add("node", node)
            o.add("revoked", response.revoked)
            o.add("nodes_updated", UInt64(response.nodesUpdated))
            write(o.json.rendered())
        } else {
            write(response.revoked ? "revoked \(node); \(response.nodesUpdated) nodes get a new state" : "\(node) was revoked already")
        }
    }

    /// `weftctl rotate [--admin-socket PATH]`: starts a key rotation now.
    func rotateCommand() throws {
        try invocation.allowOnly(["--admin-socket"])
        let response = try callAdmin { try await $0.rotate(Weft_V1_RotateRequest()) }
        if invocation.json {
            var o = JSONObject()
            o.add("started", response.started)
            o.add("target_epoch", UInt64(response.targetEpoch))
            write(o.json.rendered())
        } else {
            write(response.started ? "rotation to epoch \(response.targetEpoch) started" : "a rotation to epoch \(response.targetEpoch) is under way")
        }
    }

    func callAdmin<T: Sendable>(socket: String? = nil,
                                _ body: @escaping @Sendable (Weft_V1_Admin.Client<HTTP2ClientTransport.Posix>) async throws -> T) throws -> T {
        let path = try socket ?? invocation.value(after: "--admin-socket") ?? Self.defaultAdminSocket
        guard FileManager.default.fileExists(atPath: path) else {
            throw LookupError(description: "no controller admin socket at \(path) (is weft-controller running here? --admin-socket PATH)")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, Error>!
        Task.detached {
            do {
                result = .success(try await withGRPCClient(transport: .http2NIOPosix(target: .unixDomainSocket(path: path), transportSecurity: .plaintext)) {
                    try await body(Weft_V1_Admin.Client(wrapping: $0))
                })
            } catch {
                result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        do { return try result.get() } catch let error as RPCError {
            throw LookupError(description: "controller: \(error.message) (\(error.code))")
        }
    }

    static func iso(_ unix: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }

    /// "850ms", "12s", "3m20s".
    static func age(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int(seconds * 1000))ms" }
        if seconds < 60 { return "\(Int(seconds))s" }
        return "\(Int(seconds) / 60)m\(Int(seconds) % 60)s"
    }
}
