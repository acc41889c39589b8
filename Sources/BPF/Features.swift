import CBPF
#if canImport(Glibc)
import Glibc
#endif

/// What the running kernel and libbpf offer for Weft's eBPF datapath. Each missing piece is
/// reported by name, the way cilium/ebpf names the kernel feature behind an error.
public struct BPFFeatures: Sendable, CustomStringConvertible {
    /// Where Weft pins its maps and programs; a restart finds them there.
    public static let bpffsRoot = "/sys/fs/bpf"

    public var libbpfVersion: String
    /// BPF_PROG_TYPE_SCHED_CLS: tc classifiers, which Weft's filters are.
    public var tcClassifier: Bool
    /// BPF_MAP_TYPE_HASH and LPM_TRIE: the trust and ipcache maps.
    public var hashMap: Bool
    public var lpmTrieMap: Bool
    public var bpffsMounted: Bool

    /// Probes the kernel (loads and unloads trivial programs and maps; needs CAP_BPF or root).
    public static func probe() -> BPFFeatures {
        BPFFeatures(
            libbpfVersion: "\(libbpf_major_version()).\(libbpf_minor_version())",
            tcClassifier: libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, nil) == 1,
            hashMap: libbpf_probe_bpf_map_type(BPF_MAP_TYPE_HASH, nil) == 1,
            lpmTrieMap: libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, nil) == 1,
            bpffsMounted: isBPFFS(bpffsRoot)
        )
    }

    /// Names of what is missing, empty when everything Weft needs is there.
    public var missing: [String] {
        var missing: [String] = []
        if !tcClassifier { missing.append("BPF_PROG_TYPE_SCHED_CLS (CONFIG_NET_CLS_BPF)") }
        if !hashMap { missing.append("BPF_MAP_TYPE_HASH") }
        if !lpmTrieMap { missing.append("BPF_MAP_TYPE_LPM_TRIE") }
        if !bpffsMounted { missing.append("bpffs at \(Self.bpffsRoot) (mount -t bpf bpf \(Self.bpffsRoot))") }
        return missing
    }

    public var description: String {
        "libbpf \(libbpfVersion): tc classifier \(tcClassifier ? "yes" : "no"), hash map \(hashMap ? "yes" : "no"), " +
            "lpm trie \(lpmTrieMap ? "yes" : "no"), bpffs \(bpffsMounted ? "mounted" : "not mounted")"
    }

    static func isBPFFS(_ path: String) -> Bool {
        var fs = statfs()
        guard statfs(path, &fs) == 0 else { return false }
        return UInt64(fs.f_type) == 0xcafe4a11  // BPF_FS_MAGIC
    }
}
