import Foundation
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// Facts about the machine the integration tests decide to run or skip on.
enum Host {
    static let isRoot = geteuid() == 0
    static let hasIPRoute2 = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")

    /// Whether this kernel can install an ESP SA (no on the Firecracker dev kernel, yes in
    /// the Debian-kernel VM). Probed once in a throwaway namespace.
    static let canInstallESP: Bool = {
        guard isRoot, hasIPRoute2, let ns = try? TestNamespace() else { return false }
        let result = try? ns.ip(["xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp",
                                 "spi", "0x100", "mode", "transport", "aead", "rfc4106(gcm(aes))",
                                 "0x" + String(repeating: "11", count: 36), "128"])
        return result != nil
    }()

    static let kernelNamespaceReason = "needs root and iproute2 to create network namespaces"
    static let espReason = "this kernel cannot install ESP SAs (no CONFIG_INET_ESP); runs in the Debian-kernel VM (step 3 of scripts/test)"
}

struct CommandFailed: Error, CustomStringConvertible {
    var command: [String]
    var status: Int32
    var stderr: String
    var description: String { "\(command.joined(separator: " ")) exited \(status): \(stderr)" }
}

/// Runs a command and returns its stdout; throws with its stderr when it fails.
@discardableResult
func run(_ command: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailed(command: command, status: process.terminationStatus, stderr: String(decoding: errors, as: UTF8.self))
    }
    return String(decoding: output, as: UTF8.self)
}

/// A fresh network namespace with a random name, deleted when the value is released.
/// Every kernel-touching test works inside one, so tests never see each other's objects
/// or the host's.
final class TestNamespace: @unchecked Sendable {
    let name: String

    init() throws {
        name = "weft-test-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try run(["ip", "netns", "add", name])
        try run(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    deinit { _ = try? run(["ip", "netns", "del", name]) }

    /// `ip -n NS ARGS…`
    @discardableResult
    func ip(_ arguments: [String]) throws -> String { try run(["ip", "-n", name] + arguments) }

    /// `ip -n NS -j ARGS…`, parsed.
    func ipJSON(_ arguments: [String]) throws -> [[String: Any]] { try parseJSONArray(ip(["-j"] + arguments)) }

    /// `bridge -n NS -j ARGS…`, parsed.
    func bridgeJSON(_ arguments: [String]) throws -> [[String: Any]] { try parseJSONArray(run(["bridge", "-n", name, "-j"] + arguments)) }

    func socket(_ family: NetlinkFamily = .route) throws -> NetlinkSocket { try NetlinkSocket(family: family, namespace: name) }

    /// Index of a link in this namespace, read with iproute2.
    func index(of link: String) throws -> Int32 {
        guard let entry = try ipJSON(["link", "show", "dev", link]).first, let index = entry["ifindex"] as? Int else {
            throw CommandFailed(command: ["ip", "link", "show", link], status: 0, stderr: "no ifindex")
        }
        return Int32(index)
    }

    /// A VXLAN device `weft0` that is up, as the overlay objects hang off it.
    @discardableResult
    func addVXLAN(name: String = "weft0") throws -> Int32 {
        try ip(["link", "add", name, "type", "vxlan", "id", "42", "local", "192.0.2.1", "dstport", "4789", "nolearning"])
        try ip(["link", "set", name, "up"])
        return try index(of: name)
    }
}

func parseJSONArray(_ text: String) throws -> [[String: Any]] {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.isEmpty { return [] }
    guard let array = try JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [[String: Any]] else {
        throw CommandFailed(command: ["(json)"], status: 0, stderr: "not a JSON array: \(trimmed.prefix(200))")
    }
    return array
}
