/// Key material. Its description, debug description and mirror all print `<redacted>`, so a
/// key cannot leak through logging a state, printing an error, or `dump()`.
public struct SecretBytes: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    private let storage: [UInt8]

    public init(_ bytes: [UInt8]) { storage = bytes }

    /// Parses `0x`-prefixed hex, as `ip xfrm state add ... aead NAME 0xKEY ICV` takes it.
    public init?(hex: String) {
        var text = Substring(hex)
        if text.hasPrefix("0x") || text.hasPrefix("0X") { text = text.dropFirst(2) }
        guard text.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        storage = bytes
    }

    public var count: Int { storage.count }

    /// The bytes themselves, for the one place that must have them (encoding a request,
    /// or `weftctl --show-keys`). Named loudly so a reviewer notices every use.
    public func withUnsafeKeyBytes<R>(_ body: ([UInt8]) throws -> R) rethrows -> R { try body(storage) }

    /// Hex, for `--show-keys` only.
    public var revealedHex: String {
        "0x" + storage.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
