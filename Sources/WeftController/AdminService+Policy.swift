import GRPCCore
import WeftControlAPI
import WeftModel
import WeftPlanner

/// Admin.CheckPolicy: `weftctl policy check`. The request is parsed and bounded here; the
/// plane judges it.
extension AdminService {
    public func checkPolicy(request: Weft_V1_CheckPolicyRequest, context: ServerContext) async throws -> Weft_V1_CheckPolicyResponse {
        let query = try Self.query(request)
        let (verdict, unenforced): (PolicyVerdict, [UnenforcedPolicyPart])
        do { (verdict, unenforced) = try await plane.checkPolicy(query) } catch {
            throw RPCError(code: .notFound, message: error.description)
        }
        var response = Weft_V1_CheckPolicyResponse()
        response.allowed = verdict.allowed
        response.egress = Self.side(verdict.egress)
        response.ingress = Self.side(verdict.ingress)
        response.unenforced = unenforced.map(\.description)
        return response
    }

    static func query(_ request: Weft_V1_CheckPolicyRequest) throws(RPCError) -> PolicyEvaluator.Query {
        guard let proto = CompiledPolicy.PortProtocol(rawValue: request.protocol.uppercased()) else {
            throw RPCError(code: .invalidArgument, message: "protocol \"\(request.protocol.prefix(16))\" is not TCP, UDP, SCTP or ICMP")
        }
        guard request.port <= 65_535, proto != .icmp || request.port == 0 else {
            throw RPCError(code: .invalidArgument, message: "port \(request.port) is not in 0-65535 (0 for ICMP)")
        }
        return PolicyEvaluator.Query(from: try endpoint(request.from, "from"), to: try endpoint(request.to, "to"), proto: proto, port: UInt16(request.port))
    }

    /// "NAMESPACE/POD" (a DNS-1123 label and subdomain) or an IPv4 address.
    static func endpoint(_ text: String, _ field: String) throws(RPCError) -> PolicyEvaluator.Endpoint {
        if let address = IPv4(text) { return .address(address) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard text.utf8.count <= 64 + NodeName.maximumLength, parts.count == 2, NodeName.isValid(parts[0]), NodeName.isValid(parts[1]) else {
            throw RPCError(code: .invalidArgument, message: "\(field): \"\(text.prefix(80))\" is neither NAMESPACE/POD nor an IPv4 address")
        }
        return .pod(ObjectReference(namespace: parts[0], name: parts[1]))
    }

    static func side(_ side: PolicyVerdict.Side) -> Weft_V1_PolicySide {
        var message = Weft_V1_PolicySide()
        message.direction = side.direction.description
        message.pod = side.pod?.description ?? ""
        message.isolatedBy = side.isolatedBy
        message.allowedBy = side.allowedBy.map { rule in
            var reference = Weft_V1_PolicyRuleReference()
            reference.policy = rule.policy
            reference.direction = rule.direction.description
            reference.rule = UInt32(rule.rule)
            return reference
        }
        message.allowed = side.allowed
        message.reason = side.reason
        return message
    }
}
