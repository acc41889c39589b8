/// An XFRM algorithm with its key: AEAD (`xfrm_algo_aead`), encryption (`xfrm_algo`) or
/// truncated authentication (`xfrm_algo_auth`). The key is `SecretBytes`.
public struct XfrmAlgorithm: Hashable, Sendable {
    public var name: String
    public var key: SecretBytes
    /// ICV length for AEAD, truncation length for auth, in bits; unused for encryption.
    public var lengthBits: UInt32

    public init(name: String, key: SecretBytes, lengthBits: UInt32 = 0) {
        self.name = name
        self.key = key
        self.lengthBits = lengthBits
    }

    static let nameSize = 64

    /// `xfrm_algo_aead` / `xfrm_algo_auth`: name, key length (bits), ICV/trunc length, key.
    func encodeWithLength() -> [UInt8] {
        var w = ByteWriter(capacity: 72 + key.count)
        w.cString(name, length: Self.nameSize)
        w.u32(UInt32(key.count * 8))
        w.u32(lengthBits)
        key.withUnsafeKeyBytes { w.append($0) }
        return w.bytes
    }

    /// `xfrm_algo`: name, key length (bits), key.
    func encodePlain() -> [UInt8] {
        var w = ByteWriter(capacity: 68 + key.count)
        w.cString(name, length: Self.nameSize)
        w.u32(UInt32(key.count * 8))
        key.withUnsafeKeyBytes { w.append($0) }
        return w.bytes
    }

    init(decoding attribute: Attribute, hasLength: Bool, context: String) throws(WireError) {
        let r = attribute.reader(context)
        name = try r.cString(0, Self.nameSize)
        let keyBits = try r.u32(64)
        let keyOffset = hasLength ? 72 : 68
        lengthBits = hasLength ? try r.u32(68) : 0
        let keyBytes = Int((keyBits + 7) / 8)
        key = SecretBytes(Array(try r.slice(keyOffset, keyBytes)))
    }
}
