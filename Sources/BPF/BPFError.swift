#if canImport(Glibc)
import Glibc
#endif

/// A failed libbpf or bpf(2) operation: what was attempted, the errno, and, where the
/// errno usually means a missing kernel feature, which one.
public struct BPFError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno < 0 ? -errno : errno
    }

    public var description: String {
        var text = "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        switch errno {
        case EPERM: text += "; needs root (CAP_BPF and CAP_NET_ADMIN), or RLIMIT_MEMLOCK is too low on kernels before 5.11"
        case EINVAL where operation.hasPrefix("load"): text += "; the verifier or the kernel refused the object (kernel too old for BTF-defined maps?)"
        case ENOENT where operation.contains("pin"): text += "; bpffs not mounted at the pin root? (mount -t bpf bpf /sys/fs/bpf)"
        case EOPNOTSUPP, ENOTSUP: text += "; the kernel lacks this program or attach type (CONFIG_NET_CLS_BPF, CONFIG_NET_SCH_INGRESS)"
        default: break
        }
        return text
    }
}
