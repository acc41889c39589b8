import WeftModel
import WeftPlanner

/// The compiled policy, asked about one packet (`weftctl policy check`), and what of it
/// the datapath does not enforce yet.
extension ControlPlane {
    /// Parts of the current policies the datapath leaves out (also counted in
    /// `weft_controller_policy_parts_unenforced` and logged when they change).
    public var unenforcedPolicy: [UnenforcedPolicyPart] { planner.unenforcedPolicy }

    /// The verdict, and the unenforced parts of the policies that judged it.
    public func checkPolicy(_ query: PolicyEvaluator.Query) throws(PolicyEvaluator.UnknownPod) -> (verdict: PolicyVerdict, unenforced: [UnenforcedPolicyPart]) {
        let verdict = try planner.policyEvaluator().verdict(query)
        let judging = Set(verdict.egress.isolatedBy + verdict.ingress.isolatedBy)
        return (verdict, planner.unenforcedPolicy.filter { judging.contains($0.policy) })
    }

    func countUnenforcedPolicy() {
        metrics.policyPartsUnenforced.set(Double(planner.unenforcedPolicy.count))
    }
}
