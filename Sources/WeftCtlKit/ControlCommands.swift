import Foundation
import WeftControlAPI
import WeftPKI
import X509

/// The control-plane side of weftctl: join tokens (asked of the running controller over
/// its admin socket) and the audit log (a file, verified offline). Neither touches a kernel.
extension WeftCtl {
    static let controllerStateDirectory = "/var/lib/weft-controller"

    /// `weftctl token create --node NAME [--ttl 1h] [--admin-socket PATH | --state-dir DIR]`:
    /// asks the running controller for a single-use join token (Admin.CreateToken over its
    /// admin socket, by default STATE_DIR/admin/admin.sock) and prints it once. The
    /// controller is the only writer of its token store.
    func tokenCommand() throws {
        guard invocation.arguments.first == "create" else { throw Invocation.UsageError(description: "token needs \"create\"") }
        var rest = invocation
        rest.arguments.removeFirst()
        try rest.allowOnly(["--node", "--ttl", "--state-dir", "--admin-socket"])
        guard let node = try rest.value(after: "--node") else { throw Invocation.UsageError(description: "token create needs --node NAME") }
        let ttlText = try rest.value(after: "--ttl") ?? "1h"
        guard let ttl = Self.duration(ttlText), ttl >= 60, ttl <= 30 * 86_400 else {
            throw Invocation.UsageError(description: "--ttl \"\(ttlText)\" is not a duration from 60s to 30d (like 90s, 30m, 1h, 2d)")
        }
        let socket = try rest.value(after: "--admin-socket")
            ?? (try rest.value(after: "--state-dir") ?? Self.controllerStateDirectory) + "/admin/admin.sock"
        var request = Weft_V1_CreateTokenRequest()
        request.node = node
        request.ttlSeconds = UInt32(ttl)
        let sent = request
        let made = try callAdmin(socket: socket) { try await $0.createToken(sent) }
        let expires = Self.iso(made.expiresUnix)
        if invocation.json {
            var o = JSONObject()
            o.add("node", node)
            o.add("id", made.id)
            o.add("expires", expires)
            o.add("token", made.token)
            write(o.json.rendered())
        } else {
            write(made.token)
            FileHandle.standardError.write(Data("token \(made.id) for node \(node), single use, expires \(expires); it is shown only now\n".utf8))
        }
    }

    /// `weftctl audit verify FILE --ca CA.crt`: checks the chain and the checkpoint
    /// signatures offline; names the first bad entry (exit 1).
    func auditCommand() throws {
        guard invocation.arguments.first == "verify", invocation.arguments.count >= 2 else {
            throw Invocation.UsageError(description: "usage: weftctl audit verify FILE --ca CA.crt")
        }
        let file = invocation.arguments[1]
        var rest = invocation
        rest.arguments.removeFirst(2)
        try rest.allowOnly(["--ca"])
        guard let caPath = try rest.value(after: "--ca") else { throw Invocation.UsageError(description: "audit verify needs --ca CA.crt (the trust anchor)") }
        guard let text = FileManager.default.contents(atPath: file).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw LookupError(description: "cannot read \(file)")
        }
        guard let pem = FileManager.default.contents(atPath: caPath).flatMap({ String(data: $0, encoding: .utf8) }),
              let ca = try? Certificate(pemEncoded: pem) else {
            throw LookupError(description: "\(caPath) is not a PEM certificate")
        }
        let report = AuditVerifier.verify(text, trusting: ca)
        if invocation.json {
            var o = JSONObject()
            o.add("entries", UInt64(report.entries))
            o.add("checkpoints", UInt64(report.checkpoints))
            o.add("unsigned_tail", UInt64(report.unsignedTail))
            o.add("first_bad", report.firstBad)
            o.add("unattested", strings: report.unattested)
            write(o.json.rendered())
        } else if let bad = report.firstBad {
            write("audit: \(file): \(bad)")
        } else {
            write("audit: \(file): \(report.entries) entries, \(report.checkpoints) signed checkpoints, chain intact"
                + (report.unsignedTail > 0 ? "; the last \(report.unsignedTail) not yet under a checkpoint" : "")
                + (report.unattested.isEmpty ? "" : "; entries \(report.unattested.joined(separator: ", ")) were found unsigned by a starting controller and are not attested"))
        }
        if report.firstBad != nil { throw AuditFailed() }
    }

    /// "90s", "30m", "1h", "2d" or plain seconds.
    static func duration(_ text: String) -> TimeInterval? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last, let factor = units[unit], let value = Double(text.dropLast()), value > 0 { return value * factor }
        if let value = Double(text), value > 0 { return value }
        return nil
    }
}

/// The audit log did not verify (already reported on stdout): exit 1, nothing more to say.
public struct AuditFailed: Error, CustomStringConvertible {
    public var description: String { "" }
}
