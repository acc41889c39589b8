import BPF

/// Weft's tc programs: which object holds each, and which hook of which device it takes.
/// The one table the loader, the dry run (`weftctl diff --pin-root`) and `weftctl bpf` read.
/// The node's devices take theirs at every reconcile; a pod's veth takes the pod programs
/// when weft-cni attaches it (`TrustFilters.attachPod`).
public struct TrustProgram: Hashable, Sendable {
    /// The node's two devices the filters sit on.
    public enum Device: Hashable, Sendable {
        /// The device that owns the node's underlay address (`node.uplink`).
        case uplink
        /// The VXLAN device (`node.device`, default weft0).
        case overlay
        /// The node end of each pod's veth (ingress: what the pod sends; egress: what reaches it).
        case pod
    }

    /// The object file in the `--bpf` directory (scripts/build-bpf).
    public var object: String
    /// The program's C function name (its BTF name; the kernel keeps 15 bytes of it).
    public var function: String
    public var device: Device
    public var hook: TCAttachment.Hook

    public static let all = [
        TrustProgram(object: "weft_uplink.o", function: "weft_uplink_ingress", device: .uplink, hook: .ingress),
        TrustProgram(object: "weft_overlay.o", function: "weft_overlay_ingress", device: .overlay, hook: .ingress),
        TrustProgram(object: "weft_track.o", function: "weft_overlay_egress", device: .overlay, hook: .egress),
        TrustProgram(object: "weft_pod_out.o", function: "weft_pod_out", device: .pod, hook: .ingress),
        TrustProgram(object: "weft_pod_in.o", function: "weft_pod_in", device: .pod, hook: .egress),
    ]

    /// The programs of the node's own devices (uplink, overlay).
    public static var node: [TrustProgram] { all.filter { $0.device != .pod } }
    /// The programs of every pod veth.
    public static var pod: [TrustProgram] { all.filter { $0.device == .pod } }

    /// Weft's place for this program on the device with `ifindex`.
    public func place(ifindex: Int32) -> TCAttachment {
        TCAttachment(ifindex: ifindex, hook: hook, handle: Ownership.tcHandle, priority: Ownership.tcPriority)
    }

    /// Where agents before 2026-12 attached it (the node's ingress programs only; the rest are newer).
    public func legacyPlace(ifindex: Int32) -> TCAttachment? {
        hook == .ingress && device != .pod ? TCAttachment(ifindex: ifindex, hook: hook, handle: Ownership.legacyTC.handle, priority: Ownership.legacyTC.priority) : nil
    }
}
