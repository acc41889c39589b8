/// libbpf's `*_opts` structs carry their own size (`sz`) and libbpf refuses any whose bytes
/// past the fields it knows are not zero ("has non-zero extra bytes"). Swift leaves a
/// struct's tail padding undefined, so options are built in zeroed memory of C's sizeof
/// (Swift's stride) and only ever written field by field.
func withZeroedOptions<T, R>(_ type: T.Type, _ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
    let size = MemoryLayout<T>.stride
    let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<T>.alignment)
    defer { raw.deallocate() }
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    return try body(raw.bindMemory(to: T.self, capacity: 1))
}
