import Foundation
import WeftPKI
import X509

/// The control-plane side of weftctl: join tokens and the audit log. Both work on the
/// controller's state directory (`--state-dir`, default /var/lib/weft-controller) or on
/// files, not on a kernel.
extension WeftCtl {
    static let controllerStateDirectory = "/var/lib/weft-controller"

    /// `weftctl token create --node NAME [--ttl 1h] [--state-dir DIR]`: prints the token once.
    func tokenCommand() throws {
        guard invocation.arguments.first == "create" else { throw Invocation.UsageError(description: "token needs \"create\"") }
        var rest = invocation
        rest.arguments.removeFirst()
        try rest.allowOnly(["--node", "--ttl", "--state-dir"])
        guard let node = try rest.value(after: "--node") else { throw Invocation.UsageError(description: "token create needs --node NAME") }
        let ttlText = try rest.value(after: "--ttl") ?? "1h"
        guard let ttl = Self.duration(ttlText) else {
            throw Invocation.UsageError(description: "--ttl \"\(ttlText)\" is not a duration (like 90s, 30m, 1h, 2d)")
        }
        let directory = try rest.value(after: "--state-dir") ?? Self.controllerStateDirectory
        let store = try JoinTokens(path: directory + "/tokens.json")
        let (token, id) = try store.create(node: node, ttl: ttl)
        let expires = ISO8601DateFormatter().string(from: Date().addingTimeInterval(ttl))
        if invocation.json {
            var o = JSONObject()
            o.add("node", node)
            o.add("id", id)
            o.add("expires", expires)
            o.add("token", token)
            write(o.json.rendered())
        } else {
            write(token)
            FileHandle.standardError.write(Data("token \(id) for node \(node), single use, expires \(expires); it is shown only now\n".utf8))
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
