import CBPF
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A map, by file descriptor (owned by its `BPFObject`). Keys and values are raw bytes in
/// the layout the C side declares; callers encode them.
public struct BPFMap: Sendable {
    public let fd: Int32
    public let name: String
    public let keySize: Int
    public let valueSize: Int
    public let perCPU: Bool

    /// Opens a map pinned at `path` (the fd stays open for the life of the process).
    public static func openPinned(_ path: String) throws -> BPFMap {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw BPFError("open pinned map \(path)", errno: errno) }
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        let result = bpf_obj_get_info_by_fd(fd, &info, &length)
        guard result == 0 else { close(fd); throw BPFError("read map info of \(path)", errno: result) }
        let type = bpf_map_type(rawValue: info.type)
        return BPFMap(fd: fd, name: (path as NSString).lastPathComponent, keySize: Int(info.key_size), valueSize: Int(info.value_size),
                      perCPU: type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
    }

    /// `bpf_map_update_elem(…, BPF_ANY)`: insert or overwrite.
    public func update(key: [UInt8], value: [UInt8]) throws {
        try check(key: key)
        guard value.count == valueSize else { throw BPFError("update \(name): value is \(value.count) bytes, map wants \(valueSize)", errno: EINVAL) }
        let result = key.withUnsafeBytes { k in value.withUnsafeBytes { v in bpf_map_update_elem(fd, k.baseAddress, v.baseAddress, UInt64(BPF_ANY)) } }
        if result != 0 { throw BPFError("update \(name)", errno: result) }
    }

    public func delete(key: [UInt8]) throws {
        try check(key: key)
        let result = key.withUnsafeBytes { bpf_map_delete_elem(fd, $0.baseAddress) }
        if result != 0 { throw BPFError("delete from \(name)", errno: result) }
    }

    /// The value for `key`: one per possible CPU for per-CPU maps, else one.
    public func lookup(key: [UInt8]) throws -> [[UInt8]]? {
        try check(key: key)
        let copies = perCPU ? Int(libbpf_num_possible_cpus()) : 1
        var buffer = [UInt8](repeating: 0, count: valueSize * copies)
        let result = key.withUnsafeBytes { k in buffer.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, k.baseAddress, $0.baseAddress) } }
        if result == -ENOENT { return nil }
        if result != 0 { throw BPFError("lookup in \(name)", errno: result) }
        return stride(from: 0, to: buffer.count, by: valueSize).map { Array(buffer[$0..<$0 + valueSize]) }
    }

    /// Every key (hash and LPM maps; for arrays, every index).
    public func keys() throws -> [[UInt8]] {
        var keys: [[UInt8]] = []
        var current: [UInt8]? = nil
        var next = [UInt8](repeating: 0, count: keySize)
        while true {
            let result: Int32
            if let key = current {
                result = key.withUnsafeBytes { k in next.withUnsafeMutableBytes { bpf_map_get_next_key(fd, k.baseAddress, $0.baseAddress) } }
            } else {
                result = next.withUnsafeMutableBytes { bpf_map_get_next_key(fd, nil, $0.baseAddress) }
            }
            if result == -ENOENT { return keys }
            if result != 0 { throw BPFError("iterate \(name)", errno: result) }
            keys.append(next)
            current = next
        }
    }

    /// Every (key, value) of a map that is not per-CPU.
    public func entries() throws -> [[UInt8]: [UInt8]] {
        var entries: [[UInt8]: [UInt8]] = [:]
        for key in try keys() {
            if let value = try lookup(key: key)?.first { entries[key] = value }
        }
        return entries
    }

    private func check(key: [UInt8]) throws {
        guard key.count == keySize else { throw BPFError("\(name): key is \(key.count) bytes, map wants \(keySize)", errno: EINVAL) }
    }
}
