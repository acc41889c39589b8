import CBPF
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where an ELF object with eBPF programs lives and where its maps are pinned: the
/// description, kept apart from the loaded object (cilium/ebpf's CollectionSpec idea).
public struct BPFObjectSpec: Hashable, Sendable {
    public var path: String
    /// Maps declared `LIBBPF_PIN_BY_NAME` are pinned here, and an existing pin with the
    /// same definition is reused, so a restarted agent keeps its maps and their contents.
    public var pinRoot: String

    public init(path: String, pinRoot: String) {
        self.path = path
        self.pinRoot = pinRoot
    }

    /// Opens and loads the object (programs verified, maps created or reused from pins).
    /// A pin whose map has another definition than the object's (an older layout) is
    /// unpinned first, so the load creates the map anew instead of failing; programs still
    /// attached keep the old map until they are replaced. `BPFObject.replacedPins` names them.
    public func load() throws -> BPFObject {
        try FileManager.default.createDirectory(atPath: pinRoot, withIntermediateDirectories: true)
        let handle: OpaquePointer? = withZeroedOptions(bpf_object_open_opts.self) { opts in
            opts.pointee.sz = MemoryLayout<bpf_object_open_opts>.stride
            return pinRoot.withCString { root in
                opts.pointee.pin_root_path = root
                return path.withCString { bpf_object__open_file($0, opts) }
            }
        }
        guard let handle else { throw BPFError("open \(path)", errno: errno) }
        let replaced = Self.unpinIncompatible(handle)
        let result = bpf_object__load(handle)
        if result != 0 {
            bpf_object__close(handle)
            throw BPFError("load \(path)", errno: result)
        }
        return BPFObject(handle: handle, spec: self, replacedPins: replaced)
    }

    /// Unpins every pinned map of the opened object whose pin holds a map of another type,
    /// key or value size, size or flags (what libbpf would refuse to reuse); returns their names.
    static func unpinIncompatible(_ handle: OpaquePointer) -> [String] {
        var replaced: [String] = []
        var map = bpf_object__next_map(handle, nil)
        while let current = map {
            defer { map = bpf_object__next_map(handle, current) }
            guard let path = bpf_map__pin_path(current).map({ String(cString: $0) }) else { continue }
            let fd = bpf_obj_get(path)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = bpf_map_info()
            var length = UInt32(MemoryLayout<bpf_map_info>.size)
            guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { continue }
            let same = info.type == bpf_map__type(current).rawValue && info.key_size == bpf_map__key_size(current)
                && info.value_size == bpf_map__value_size(current) && info.max_entries == bpf_map__max_entries(current)
                && info.map_flags == bpf_map__map_flags(current)
            if !same && unlink(path) == 0 { replaced.append(String(cString: bpf_map__name(current))) }
        }
        return replaced
    }
}

/// A loaded object: its programs' and maps' file descriptors live as long as this does.
public final class BPFObject: @unchecked Sendable {
    let handle: OpaquePointer
    public let spec: BPFObjectSpec
    /// Maps whose old pins did not match this object's definition and were replaced.
    public let replacedPins: [String]

    init(handle: OpaquePointer, spec: BPFObjectSpec, replacedPins: [String] = []) {
        self.handle = handle
        self.spec = spec
        self.replacedPins = replacedPins
    }

    deinit { bpf_object__close(handle) }

    /// The file descriptor of program `name` (its C function name).
    public func programFD(_ name: String) throws -> Int32 {
        guard let program = bpf_object__find_program_by_name(handle, name) else {
            throw BPFError("find program \(name) in \(spec.path)", errno: ENOENT)
        }
        return bpf_program__fd(program)
    }

    public func map(_ name: String) throws -> BPFMap {
        guard let map = bpf_object__find_map_by_name(handle, name) else {
            throw BPFError("find map \(name) in \(spec.path)", errno: ENOENT)
        }
        return BPFMap(fd: bpf_map__fd(map), name: name, keySize: Int(bpf_map__key_size(map)),
                      valueSize: Int(bpf_map__value_size(map)), perCPU: isPerCPU(bpf_map__type(map)))
    }

    private func isPerCPU(_ type: bpf_map_type) -> Bool {
        type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH
    }
}
