import CBPF
#if canImport(Glibc)
import Glibc
#endif

/// A tc classifier attached in direct-action mode to one of an interface's clsact hooks
/// (ingress or egress) at one handle and priority, like `tc qdisc add dev X clsact; tc
/// filter add dev X ingress pref P handle H bpf da …`. Attaching replaces a program
/// already there only when the caller says it owns it (so a restarted agent swaps its own program in place, without a window
/// where none is attached, and never anyone else's); filters at other handles and
/// priorities are never touched.
///
/// libbpf talks rtnetlink in the calling thread's network namespace: call this inside
/// `NetworkNamespace.run` for another namespace.
public struct TCAttachment: Hashable, Sendable {
    /// The clsact hook: packets arriving on the interface, or leaving through it.
    public enum Hook: String, Hashable, Sendable, CustomStringConvertible {
        case ingress, egress
        public var description: String { rawValue }
        var attachPoint: bpf_tc_attach_point { self == .ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS }
    }

    public var ifindex: Int32
    public var hook: Hook
    public var handle: UInt32
    public var priority: UInt32

    public init(ifindex: Int32, hook: Hook = .ingress, handle: UInt32, priority: UInt32) {
        self.ifindex = ifindex
        self.hook = hook
        self.handle = handle
        self.priority = priority
    }

    /// Attaches `programFD` unless a program with the same instructions (same tag) is
    /// already attached there; returns whether it wrote anything. A different program
    /// there is replaced only when `owned(name)` says it is the caller's; otherwise this
    /// throws and leaves it attached.
    @discardableResult
    public func attach(programFD: Int32, replacingOnly owned: (String) -> Bool) throws -> Bool {
        try withHook { hook in
            if let attached = attachedProgram(hook) {
                let present = Self.info(of: attached.fd)
                if present?.tag == Self.info(of: programFD)?.tag { return false }
                guard let name = present?.name, owned(name) else {
                    throw PlaceTaken(attachment: self, programID: attached.id, programName: present?.name ?? "?")
                }
            }
            let created = bpf_tc_hook_create(hook)
            if created != 0 && created != -EEXIST { throw BPFError("create clsact on ifindex \(ifindex)", errno: created) }
            let attached = withZeroedOptions(bpf_tc_opts.self) { opts in
                opts.pointee.sz = MemoryLayout<bpf_tc_opts>.stride
                opts.pointee.prog_fd = programFD
                opts.pointee.handle = handle
                opts.pointee.priority = priority
                opts.pointee.flags = UInt32(BPF_TC_F_REPLACE.rawValue)
                return bpf_tc_attach(hook, opts)
            }
            if attached == -EINVAL {
                throw BPFError("attach tc \(self.hook) program on ifindex \(ifindex) at handle 0x\(String(handle, radix: 16)) priority \(priority) "
                               + "(a filter of another kind there? it is left alone)", errno: attached)
            }
            if attached != 0 { throw BPFError("attach tc \(self.hook) program on ifindex \(ifindex)", errno: attached) }
            return true
        }
    }

    /// Detaches the program at this handle and priority (`tc filter del dev X ingress pref P
    /// handle H bpf`). Callers check it is theirs first.
    public func detach() throws {
        let detached = withHook { hook in
            withZeroedOptions(bpf_tc_opts.self) { opts in
                opts.pointee.sz = MemoryLayout<bpf_tc_opts>.stride
                opts.pointee.handle = handle
                opts.pointee.priority = priority
                return bpf_tc_detach(hook, opts)
            }
        }
        if detached != 0 { throw BPFError("detach tc \(self.hook) program on ifindex \(ifindex)", errno: detached) }
    }

    /// The program attached at our hook, handle and priority: (id, name), if any.
    public func attachedProgram() -> (id: UInt32, name: String)? {
        withHook { hook in
            guard let attached = attachedProgram(hook) else { return nil }
            return (attached.id, Self.info(of: attached.fd)?.name ?? "?")
        }
    }

    private func withHook<R>(_ body: (UnsafeMutablePointer<bpf_tc_hook>) throws -> R) rethrows -> R {
        try withZeroedOptions(bpf_tc_hook.self) { hook in
            hook.pointee.sz = MemoryLayout<bpf_tc_hook>.stride
            hook.pointee.ifindex = ifindex
            hook.pointee.attach_point = self.hook.attachPoint
            return try body(hook)
        }
    }

    /// The id of the program at our handle and priority, and an fd for it (closed when the
    /// returned value is released).
    private func attachedProgram(_ hook: UnsafeMutablePointer<bpf_tc_hook>) -> (id: UInt32, fd: ProgramFD)? {
        let id: UInt32? = withZeroedOptions(bpf_tc_opts.self) { opts in
            opts.pointee.sz = MemoryLayout<bpf_tc_opts>.stride
            opts.pointee.handle = handle
            opts.pointee.priority = priority
            // No clsact yet is the normal first-run case: keep libbpf from printing the
            // kernel's "Parent Qdisc doesn't exists" for it.
            let previous = libbpf_set_print(nil)
            defer { libbpf_set_print(previous) }
            return bpf_tc_query(hook, opts) == 0 ? opts.pointee.prog_id : nil
        }
        guard let id else { return nil }
        let fd = bpf_prog_get_fd_by_id(id)
        return fd >= 0 ? (id, ProgramFD(fd)) : nil
    }

    /// A program's tag (hash of its instructions) and name, from `bpf_obj_get_info_by_fd`.
    static func info(of programFD: ProgramFD) -> (tag: [UInt8], name: String)? { info(of: programFD.fd) }

    static func info(of programFD: Int32) -> (tag: [UInt8], name: String)? {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(programFD, &info, &length) == 0 else { return nil }
        let tag = withUnsafeBytes(of: info.tag) { Array($0) }
        let name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return (tag, name)
    }
}

/// Another owner's program sits where we would attach: left in place, and said so.
public struct PlaceTaken: Error, CustomStringConvertible, Sendable {
    public var attachment: TCAttachment
    public var programID: UInt32
    public var programName: String

    public var description: String {
        "tc \(attachment.hook) on ifindex \(attachment.ifindex): handle 0x\(String(attachment.handle, radix: 16)) priority \(attachment.priority) "
            + "holds program \(programName) (id \(programID)), which is not ours; refusing to replace it"
    }
}

/// An fd from `bpf_prog_get_fd_by_id`, closed on release.
final class ProgramFD {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}
