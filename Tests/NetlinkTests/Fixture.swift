import Foundation
import Netlink

/// A buffer captured from iproute2 and the kernel by `scripts/capture-fixtures`
/// (see Fixtures/README.md): comment lines start with `#`, the rest is hex bytes.
struct Fixture {
    let name: String
    let bytes: [UInt8]
    let comments: [String]

    init(_ name: String) throws {
        guard let url = Bundle.module.url(forResource: name, withExtension: "hex", subdirectory: "Fixtures") else {
            throw FixtureError(description: "no fixture \(name).hex")
        }
        self.name = name
        let text = try String(contentsOf: url, encoding: .utf8)
        var bytes: [UInt8] = []
        var comments: [String] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") { comments.append(String(line)); continue }
            for pair in line.split(separator: " ") {
                guard let byte = UInt8(pair, radix: 16) else { throw FixtureError(description: "\(name): bad hex \"\(pair)\"") }
                bytes.append(byte)
            }
        }
        self.bytes = bytes
        self.comments = comments
    }

    /// The first message, cut to its own nlmsg_len (iproute2 sends zero padding after dumps).
    var firstMessage: [UInt8] {
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        return Array(bytes.prefix(length))
    }

    func messages() throws -> [Message] { try Message.split(bytes) }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// The request bytes with sequence number and port id zeroed: those two differ per run.
func withoutSequenceAndPort(_ bytes: [UInt8]) -> [UInt8] {
    var copy = bytes
    for i in 8..<16 where i < copy.count { copy[i] = 0 }
    return copy
}

/// Hex with a space every 4 bytes, so a mismatch in an expectation is easy to locate.
func hexDump(_ bytes: [UInt8]) -> String {
    stride(from: 0, to: bytes.count, by: 4).map { start in
        bytes[start..<min(start + 4, bytes.count)].map { String(format: "%02x", $0) }.joined()
    }.joined(separator: " ")
}
