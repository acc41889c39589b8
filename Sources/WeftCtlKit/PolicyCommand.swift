import WeftControlAPI

/// `weftctl [-j] policy check --from NS/POD --to NS/POD|IP --port PROTO/PORT
/// [--admin-socket PATH]`: the controller judges one packet by the compiled policy and
/// says why. Exit 0 for either verdict; 1 when a pod or the controller is not found.
extension WeftCtl {
    func policyCommand() throws {
        guard invocation.arguments.first == "check" else { throw Invocation.UsageError(description: "policy needs \"check\"") }
        var rest = invocation
        rest.arguments.removeFirst()
        try rest.allowOnly(["--from", "--to", "--port", "--admin-socket"])
        guard let from = try rest.value(after: "--from"), let to = try rest.value(after: "--to") else {
            throw Invocation.UsageError(description: "policy check needs --from NS/POD and --to NS/POD|IP")
        }
        let (proto, port) = try Self.parsePort(try rest.value(after: "--port") ?? "tcp/80")
        var request = Weft_V1_CheckPolicyRequest()
        request.from = from
        request.to = to
        request.protocol = proto.uppercased()
        request.port = UInt32(port)
        let sent = request
        let answer = try callAdmin(socket: try rest.value(after: "--admin-socket")) { try await $0.checkPolicy(sent) }
        if invocation.json { write(Self.json(answer).rendered()) } else { Self.text(answer).forEach(write) }
    }

    static func json(_ answer: Weft_V1_CheckPolicyResponse) -> JSON {
        var o = JSONObject()
        o.add("verdict", answer.allowed ? "allow" : "deny")
        let sides = [answer.egress, answer.ingress]
        o.add("policies", .array(Array(Set(sides.flatMap(\.isolatedBy))).sorted().map { .string($0) }))
        for side in sides {
            var s = JSONObject()
            s.add("pod", side.pod.isEmpty ? nil : side.pod)
            s.add("allowed", side.allowed)
            s.add("isolated_by", .array(side.isolatedBy.map { .string($0) }))
            s.add("allowed_by", .array(side.allowedBy.map { rule in
                .object([("policy", .string(rule.policy)), ("direction", .string(rule.direction)), ("rule", .number(Int64(rule.rule)))])
            }))
            s.add("reason", side.reason)
            o.add(side.direction, s.json)
        }
        o.add("unenforced", .array(answer.unenforced.map { .string($0) }))
        return o.json
    }

    /// "allow", then one line per side, then what the datapath does not enforce yet.
    static func text(_ answer: Weft_V1_CheckPolicyResponse) -> [String] {
        [answer.allowed ? "allow" : "deny", "  " + answer.egress.reason, "  " + answer.ingress.reason]
            + answer.unenforced.map { "  not enforced by the datapath yet: \($0)" }
    }
}
