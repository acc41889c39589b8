import Addresses
import WeftAgent

/// `weftctl [-j] trace --from IP --to IP --port PROTO/PORT [--pin-root DIR]...`: what the
/// filters of this node (the maps pinned under each `--pin-root`, by default Weft's) do
/// with a flow's first packet, from the kernel's own maps: each hook it meets, the verdict
/// and the entry behind it (`PolicyTrace`). Give one pin root per node involved (the
/// sender's, the receiver's) to see the whole path; `weftctl policy check` answers the same
/// question from the controller's view, and the two must agree.
extension WeftCtl {
    func traceCommand() throws {
        try invocation.allowOnly(["--from", "--to", "--port", "--pin-root"])
        guard let fromText = try invocation.value(after: "--from"), let toText = try invocation.value(after: "--to") else {
            throw Invocation.UsageError(description: "trace needs --from IP and --to IP (a pod's address; weftctl policy check takes NS/POD)")
        }
        guard case .v4(let from)? = IPAddress(fromText), case .v4(let to)? = IPAddress(toText) else {
            throw Invocation.UsageError(description: "trace: --from \"\(fromText)\" and --to \"\(toText)\" must be IPv4 addresses")
        }
        let (proto, port) = try Self.parsePort(try invocation.value(after: "--port") ?? "tcp/80")
        let number: UInt8 = ["tcp": 6, "udp": 17, "sctp": 132, "icmp": 1][proto]!
        let flow = PolicyTrace.Flow(from: from, to: to, proto: number, port: port)
        let roots = pinRoots()
        var steps: [(root: String, step: PolicyTrace.Step)] = []
        for root in roots { steps += try PolicyTrace.trace(flow, maps: PolicyTrace.Maps(pinRoot: root)).steps.map { (root, $0) } }
        let verdict = steps.isEmpty ? "none" : steps.allSatisfy(\.step.passed) ? "allow" : "deny"
        if invocation.json {
            var o = JSONObject()
            o.add("verdict", verdict)
            o.add("steps", .array(steps.map { root, step in
                .object([("pin_root", .string(root)), ("hook", .string(step.hook)), ("reason", .string(step.reason)),
                         ("passed", .bool(step.passed)), ("why", .string(step.why))])
            }))
            write(o.json.rendered())
        } else {
            write(steps.isEmpty ? "none: no pod of \(roots.joined(separator: ", ")) sends or receives it" : verdict)
            for (root, step) in steps { write("  \(roots.count > 1 ? root + ": " : "")\(step.hook): \(step.reason): \(step.why)") }
        }
    }

    /// Every `--pin-root DIR` given, in order (Weft's own when none).
    func pinRoots() -> [String] {
        var roots: [String] = []
        for (i, argument) in invocation.arguments.enumerated() where argument == "--pin-root" && i + 1 < invocation.arguments.count {
            roots.append(invocation.arguments[i + 1])
        }
        return roots.isEmpty ? [Ownership.bpfPinRoot] : roots
    }

    /// "tcp/80", "udp/53", "sctp/9000" or "icmp": a protocol word and a port.
    static func parsePort(_ text: String) throws(Invocation.UsageError) -> (String, UInt16) {
        let parts = text.lowercased().split(separator: "/").map(String.init)
        if parts == ["icmp"] { return ("icmp", 0) }
        guard parts.count == 2, ["tcp", "udp", "sctp"].contains(parts[0]), let port = UInt16(parts[1]) else {
            throw Invocation.UsageError(description: "--port \"\(text)\" is not PROTO/PORT (tcp/80, udp/53, sctp/9000) or icmp")
        }
        return (parts[0], port)
    }
}
