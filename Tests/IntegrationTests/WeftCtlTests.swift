import Foundation
import Netlink
import Testing
@testable import WeftCtlKit

/// Runs weftctl in-process and returns what it printed.
func weftctl(_ arguments: [String]) throws -> String {
    var lines: [String] = []
    try WeftCtl(invocation: Invocation(arguments), write: { lines.append($0) }).run()
    return lines.joined(separator: "\n")
}

@Suite("weftctl command line")
struct InvocationTests {
    @Test("global options come first, as in iproute2")
    func parse() throws {
        let i = try Invocation(["-n", "node1", "-j", "-d", "xfrm", "state", "show"])
        #expect(i.namespace == "node1" && i.json && i.details && i.object == "xfrm state" && i.arguments.isEmpty)
        #expect(try Invocation(["route", "show", "table", "all"]).value(after: "table") == "all")
    }

    @Test("bad command lines are one clear line each", arguments: [
        (["-n"], "option -n needs a namespace name"),
        (["--bogus", "link"], "unknown option \"--bogus\"; try \"weftctl -h\""),
        ([], "no object given; try \"weftctl -h\""),
        (["xfrm"], "xfrm needs \"state\" or \"policy\""),
    ])
    func usageErrors(argv: [String], message: String) {
        let error = #expect(throws: Invocation.UsageError.self) { try Invocation(argv) }
        #expect(error?.description == message)
    }

    @Test("an unknown argument to an object is refused, not ignored")
    func unknownArgument() throws {
        #expect(throws: Invocation.UsageError.self) { try weftctl(["link", "frobnicate", "x"]) }
    }
}


@Suite("weftctl against iproute2", .enabled(if: Host.isRoot && Host.hasIPRoute2, Comment(rawValue: Host.kernelNamespaceReason)))
struct WeftCtlTests {
    /// A namespace holding one of each overlay object kind, made with iproute2.
    func populated() throws -> TestNamespace {
        let ns = try TestNamespace()
        try ns.addVXLAN()
        try ns.ip(["neigh", "add", "10.244.1.0", "lladdr", "02:57:46:00:00:02", "dev", "weft0", "nud", "permanent"])
        try run(["bridge", "-n", ns.name, "fdb", "append", "02:57:46:00:00:02", "dev", "weft0", "dst", "192.0.2.2", "self", "permanent"])
        try ns.ip(["route", "add", "10.244.1.0/24", "via", "10.244.1.0", "dev", "weft0", "onlink", "proto", "87"])
        return ns
    }

    func fields(_ object: [String: Any], _ keys: [String]) -> [String] {
        keys.map { key in object[key].map { "\(key)=\(String(describing: $0))" } ?? "\(key)=nil" }
    }

    @Test("-j link, neigh, fdb and route carry iproute2's field names and values")
    func jsonMatchesIPRoute2() throws {
        let ns = try populated()
        let pairs: [([String], [[String: Any]], [String])] = [
            (["link", "dev", "weft0"], try ns.ipJSON(["link", "show", "dev", "weft0"]),
             ["ifindex", "ifname", "mtu", "qdisc", "operstate", "txqlen", "link_type", "address", "broadcast"]),
            (["neigh", "dev", "weft0"], try ns.ipJSON(["neigh", "show", "dev", "weft0"]), ["dst", "dev", "lladdr", "state"]),
            (["fdb", "dev", "weft0"], try ns.bridgeJSON(["fdb", "show", "dev", "weft0"]), ["mac", "dst", "flags", "state"]),
            (["route"], try ns.ipJSON(["route", "show"]), ["dst", "gateway", "dev", "protocol", "scope", "prefsrc", "flags"]),
        ]
        for (args, expected, keys) in pairs {
            let ours = try parseJSONArray(weftctl(["-n", ns.name, "-j"] + args))
            #expect(ours.count == expected.count, "\(args)")
            for (mine, theirs) in zip(ours, expected) {
                #expect(fields(mine, keys) == fields(theirs, keys), "\(args)")
            }
        }
        let detailed = try parseJSONArray(weftctl(["-n", ns.name, "-j", "-d", "link", "dev", "weft0"]))
        let data = (detailed.first?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
        #expect(data?["id"] as? Int == 42 && data?["port"] as? Int == 4789 && data?["learning"] as? Bool == false)
    }

    @Test("text output is iproute2's, line for line", arguments: [
        (["route"], ["ip", "route", "show"]),
        (["route", "dev", "weft0"], ["ip", "route", "show", "dev", "weft0"]),
        (["neigh"], ["ip", "neigh", "show"]),
        (["neigh", "dev", "weft0"], ["ip", "neigh", "show", "dev", "weft0"]),
        (["fdb", "dev", "weft0"], ["bridge", "fdb", "show", "dev", "weft0"]),
    ])
    func text(ours: [String], theirs: [String]) throws {
        let ns = try populated()
        func lines(_ text: String) -> [String] {
            text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let expected = try run([theirs[0], "-n", ns.name] + theirs.dropFirst())
        #expect(lines(try weftctl(["-n", ns.name] + ours)) == lines(expected))
    }

    @Test("a missing interface is one clear error")
    func missingInterface() throws {
        let ns = try TestNamespace()
        #expect(throws: LookupError.self) { try weftctl(["-n", ns.name, "link", "dev", "nope"]) }
        do { _ = try weftctl(["-n", ns.name, "link", "dev", "nope"]) } catch { #expect("\(error)" == "Device \"nope\" does not exist.") }
    }

    @Test("monitor prints events as they happen, then stops on SIGTERM")
    func monitor() throws {
        let ns = try TestNamespace()
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("weftctl")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build weftctl first (swift build)")
        let monitor = try Background([binary.path, "-n", ns.name, "monitor"])
        // The monitor subscribes asynchronously: each change is repeated (a new MTU, the
        // policy updated) until its event shows, within a deadline, never a fixed sleep.
        func until(_ seen: (String) -> Bool, _ change: (Int) throws -> Void) throws {
            for attempt in 0..<100 where !seen(monitor.text) {
                try change(attempt)
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        try ns.addVXLAN()
        try until({ $0.contains("[LINK]") && $0.contains("weft0") }) { try ns.ip(["link", "set", "weft0", "mtu", "\(1300 + $0)"]) }
        let policy = ["src", "192.0.2.1/32", "dst", "192.0.2.2/32", "dir", "out",
                      "tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "reqid", "9", "mode", "transport"]
        try ns.ip(["xfrm", "policy", "add"] + policy)
        try until({ $0.contains("[XFRM POLICY]src 192.0.2.1/32 dst 192.0.2.2/32") }) { _ in try ns.ip(["xfrm", "policy", "update"] + policy) }
        monitor.process.terminate()
        monitor.process.waitUntilExit()
        #expect(monitor.process.terminationReason == .uncaughtSignal && monitor.process.terminationStatus == SIGTERM)
        let printed = monitor.text
        #expect(printed.contains("[LINK]") && printed.contains("weft0"))
        #expect(printed.contains("[XFRM POLICY]src 192.0.2.1/32 dst 192.0.2.2/32"))
    }
}

@Suite("weftctl as an unprivileged user", .enabled(if: Host.isRoot && Host.hasIPRoute2 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                                                   "needs root to drop to nobody with setpriv (util-linux)"))
struct WeftCtlPermissionTests {
    /// Runs the weftctl binary as uid/gid 65534 and returns (status, stderr).
    func asNobody(_ arguments: [String]) throws -> (Int32, String) {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("weftctl")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build weftctl first (swift build)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", binary.path] + arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test("entering a namespace without privilege: one line, exit 1, no stack trace")
    func namespace() throws {
        let ns = try TestNamespace()
        let (status, stderr) = try asNobody(["-n", ns.name, "link"])
        #expect(status == 1)
        #expect(stderr == "weftctl: cannot enter network namespace \"\(ns.name)\": Operation not permitted (EPERM) (needs root or CAP_SYS_ADMIN)\n")
    }

    @Test("dumping XFRM state without CAP_NET_ADMIN: one line naming the dump")
    func xfrm() throws {
        let (status, stderr) = try asNobody(["xfrm", "state"])
        #expect(status == 1)
        #expect(stderr == "weftctl: dump xfrm states: Operation not permitted (EPERM)\n")
    }
}
