import BPF
import WeftModel

/// What one node's filters do with a new flow, read from its pinned maps: the kernel's own
/// state, not the controller's. Each hook the flow meets on this node (the sender's veth,
/// weft0's ingress, the receiver's veth), its verdict, and the map entry that decided it.
/// It follows bpf/weft_policy.h and the programs' order (bpf/README.md) for a flow's first
/// packet: replies of tracked connections, and the peer and anti-spoofing checks that a
/// pod's own address passes, are not traced. `weftctl trace` prints it; a test holds it to
/// `weftctl policy check` on every truth-table cell.
public struct PolicyTrace: Sendable {
    public struct Flow: Sendable {
        /// IPv4 addresses, host order.
        public var from: UInt32, to: UInt32
        /// IPPROTO_*; `port` the destination port (0 for ICMP).
        public var proto: UInt8, port: UInt16
        public init(from: UInt32, to: UInt32, proto: UInt8, port: UInt16) {
            self.from = from
            self.to = to
            self.proto = proto
            self.port = proto == 1 ? 0 : port
        }
    }

    public struct Step: Sendable, Hashable {
        /// The program and where it runs.
        public var hook: String
        /// The counter it counts under (`TrustFilters.reasons`).
        public var reason: String
        public var passed: Bool
        /// Why: the policy entry that admitted it, or what was looked up in vain.
        public var why: String
    }

    public var steps: [Step] = []
    public var allowed: Bool { steps.allSatisfy(\.passed) }

    /// The node's maps, opened once (a trace of many flows reads them many times).
    public struct Maps: Sendable {
        let config, ipcache, cidrs, policy, egress, endpoints: BPFMap

        public init(pinRoot: String) throws {
            func open(_ name: String) throws -> BPFMap { try BPFMap.openPinned("\(pinRoot)/\(name)") }
            config = try open("weft_config")
            ipcache = try open("weft_ipcache")
            cidrs = try open("weft_cidrs")
            policy = try open("weft_policy")
            egress = try open("weft_egress")
            endpoints = try open("weft_endpoints")
        }
    }

    static let any = PolicyRule.anySource, host = TrustMapContents.hostIdentity
    static let enforcePolicy = TrustMapContents.enforcePolicy, enforceEgress = TrustMapContents.enforceEgress

    /// The flow's steps on the node whose maps these are (none: it neither sends nor receives it).
    public static func trace(_ flow: Flow, maps: Maps) throws -> PolicyTrace {
        let flags = try maps.config.lookup(key: [0, 0, 0, 0])?.first.map { u32le($0, 12) } ?? 0
        let local = Set(try maps.endpoints.entries().values.map { u32be($0, 0) })
        let src = try identity(maps.ipcache, flow.from), dst = try identity(maps.ipcache, flow.to)
        var trace = PolicyTrace()
        if local.contains(flow.from) {
            var step = Step(hook: "weft_pod_out (tc ingress, the sender's veth)", reason: "pass_pod_out", passed: true, why: "egress not enforced on this node")
            if flags & enforceEgress != 0 {
                let cidr = try identity(maps.cidrs, flow.to)
                let rule = try match(maps.egress, flow, [(src, dst), (src, any)] + (cidr != 0 ? [(src, cidr)] : []))
                step.passed = rule != nil
                step.reason = step.passed ? "pass_pod_out" : "drop_policy_egress"
                step.why = rule ?? "no weft_egress entry for \(name(src)) -> \(name(dst))\(cidr != 0 ? " or CIDR \(cidr)" : "") or anyone"
            }
            trace.steps.append(step)
        }
        guard local.contains(flow.to) else { return trace }
        let verdict = try ingress(flow, flags: flags, src: src, dst: dst, maps: maps)
        if !local.contains(flow.from) {  // over the overlay: weft0's filter first, same policy
            trace.steps.append(Step(hook: "weft_overlay_ingress (tc ingress, weft0)", reason: verdict.passed || flags & enforcePolicy == 0 ? "pass_overlay" : "drop_policy",
                                    passed: verdict.passed || flags & enforcePolicy == 0, why: flags & enforcePolicy == 0 ? "policy not enforced on this node" : verdict.why))
            guard trace.allowed else { return trace }
        }
        trace.steps.append(Step(hook: "weft_pod_in (tc egress, the receiver's veth)", reason: verdict.passed ? "pass_pod_in" : "drop_policy",
                                passed: verdict.passed, why: verdict.why))
        return trace
    }

    /// weft_pod_in's judgement (weft_overlay_ingress's too, but for the node itself).
    static func ingress(_ flow: Flow, flags: UInt32, src: UInt32, dst: UInt32, maps: Maps) throws -> (passed: Bool, why: String) {
        guard flags & enforcePolicy != 0 else { return (true, "policy not enforced on this node") }
        if src == host { return (true, "the sender is this node (WEFT_IDENTITY_HOST)") }
        let cidr = try identity(maps.cidrs, flow.from)
        if let rule = try match(maps.policy, flow, [(src, dst), (any, dst)] + (cidr != 0 ? [(cidr, dst)] : [])) { return (true, rule) }
        return (false, "no weft_policy entry for \(name(src))\(cidr != 0 ? " or CIDR \(cidr)" : "") or anyone -> \(name(dst))")
    }

    /// The first (source, destination) pair some entry covers, as that entry reads.
    static func match(_ map: BPFMap, _ flow: Flow, _ pairs: [(UInt32, UInt32)]) throws -> String? {
        for (source, destination) in pairs {
            let key = PolicyKeys.lookupKey(source: source, destination: destination, proto: flow.proto, port: flow.port)
            if try map.lookup(key: key)?.first == [1] { return try entry(map, covering: key) }
        }
        return nil
    }

    /// The longest entry covering `key`, described ("257 -> 300 tcp/8000-8001").
    static func entry(_ map: BPFMap, covering key: [UInt8]) throws -> String {
        let best = try map.keys().filter { PolicyKeys.covers($0, key) }.max { u32le($0, 0) < u32le($1, 0) }
        return best.map(PolicyKeys.describe) ?? "an entry covering it"
    }

    static func identity(_ map: BPFMap, _ address: UInt32) throws -> UInt32 {
        try map.lookup(key: TrustMapContents.lpmKey(address))?.first.map { u32le($0, 0) } ?? 0
    }

    static func name(_ identity: UInt32) -> String {
        switch identity {
        case any: "anyone"
        case host: "this node"
        case 0: "identity 0 (unknown)"
        default: "\(identity)"
        }
    }
}

func u32le(_ bytes: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
func u32be(_ bytes: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[at + $1]) } }
