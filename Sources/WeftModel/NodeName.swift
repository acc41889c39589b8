/// The rule for node names, shared by the cluster file, the control service and (later)
/// the Kubernetes source: a DNS-1123 subdomain, as Kubernetes requires of Node names —
/// lowercase letters, digits, '-' and '.', starting and ending alphanumeric, 1-253 bytes.
/// Names go into certificates, file names, metrics labels and the audit log; this keeps
/// all of those bounded and printable.
public enum NodeName {
    public static let maximumLength = 253

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...maximumLength).contains(bytes.count), let first = bytes.first, let last = bytes.last,
              isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
