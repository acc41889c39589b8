import Foundation
import Testing
@testable import WeftController
import WeftFiles
import WeftModel
import WeftPKI

/// The controller's state directory under damage and concurrency: it never mints a CA over
/// a cluster, never shares the directory, never extends a chain it cannot vouch for.
@Suite("state directory: CA, lock, audit chain, last good spec")
struct StateSafetyTests {
    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test("a missing ca.crt, an unreadable ca.key or state without a CA: refused, ca.key untouched, no new CA")
    func neverANewCAOverState() throws {
        let dir = temporaryDirectory()
        let plane = try ControlPlane(stateDirectory: dir, spec: smallSpec())
        plane.close()
        let key = try #require(Self.bytes(dir + "/ca.key"))
        try FileManager.default.removeItem(atPath: dir + "/ca.crt")
        #expect(throws: (any Error).self) { try ControlPlane(stateDirectory: dir, spec: smallSpec()) }
        #expect(Self.bytes(dir + "/ca.key") == key, "ca.key was replaced")
        #expect(!FileManager.default.fileExists(atPath: dir + "/ca.crt"))

        // ca.key that cannot be read (a directory in its place: root reads any mode).
        let other = temporaryDirectory()
        try ControlPlane(stateDirectory: other, spec: smallSpec()).close()
        try FileManager.default.removeItem(atPath: other + "/ca.key")
        try FileManager.default.createDirectory(atPath: other + "/ca.key", withIntermediateDirectories: false)
        #expect(throws: (any Error).self) { try ControlPlane(stateDirectory: other, spec: smallSpec()) }

        // Both CA files gone but the cluster's state still there.
        let third = temporaryDirectory()
        try ControlPlane(stateDirectory: third, spec: smallSpec()).close()
        for file in ["ca.key", "ca.crt"] { try FileManager.default.removeItem(atPath: third + "/" + file) }
        do { _ = try ClusterCA.loadOrCreate(directory: third, clusterName: "x"); Issue.record("a new CA over existing state") } catch {
            #expect("\(error)".contains("refusing to create a new CA"))
        }
        #expect(!FileManager.default.fileExists(atPath: third + "/ca.key"))
    }

    @Test("two controllers on one state directory: the second refuses; after the first closes, it starts")
    func exclusiveDirectory() throws {
        let dir = temporaryDirectory()
        let first = try ControlPlane(stateDirectory: dir, spec: smallSpec())
        do { _ = try ControlPlane(stateDirectory: dir, spec: smallSpec()); Issue.record("a second controller shared the directory") } catch {
            #expect("\(error)".contains("in use by another process (pid \(getpid()))"))
        }
        first.close()
        try ControlPlane(stateDirectory: dir, spec: smallSpec()).close()
    }

    @Test("audit log: a non-UTF-8 byte, a field outside the hash, a duplicate key: refused, never a new chain")
    func canonicalChain() throws {
        let dir = temporaryDirectory()
        let (ca, text) = try AuditTests.log(dir, entries: 5)
        var damaged = Data(text.utf8)
        damaged.insert(0xff, at: 40)
        try damaged.write(to: URL(fileURLWithPath: dir + "/audit.log"))
        #expect(throws: PKIError.self) { try AuditLog(path: dir + "/audit.log", ca: ca) }
        #expect(Self.bytes(dir + "/audit.log") == damaged, "the damaged log was rewritten")

        var lines = text.split(separator: "\n").map(String.init)
        let original = lines[2]
        lines[2] = String(original.dropLast()) + ",\"note\":\"outside the hash\"}"
        #expect(AuditVerifier.verify(lines.joined(separator: "\n"), trusting: ca.certificate).firstBad?.hasPrefix("line 3 (seq 3): not in the canonical encoding") == true)
        lines[2] = String(original.dropLast()) + ",\"subject\":\"mallory\"}"
        #expect(AuditVerifier.verify(lines.joined(separator: "\n"), trusting: ca.certificate).firstBad?.hasPrefix("line 3 (seq 3)") == true, "a duplicate key passed")
    }

    @Test("audit log: a line appended behind the controller's back is never signed; an unsigned tail at start is marked unattested")
    func tailIsVouchedFor() throws {
        let dir = temporaryDirectory()
        let ca = try ClusterCA.loadOrCreate(directory: dir, clusterName: "t").ca
        let log = try AuditLog(path: dir + "/audit.log", ca: ca, checkpointEvery: 100)
        try log.record("issue", subject: "node1")
        let text = try String(contentsOfFile: dir + "/audit.log", encoding: .utf8)
        let last = try JSONDecoder().decode(AuditEntry.self, from: Data(text.split(separator: "\n").last!.utf8))
        var forged = last
        forged.seq += 1
        forged.subject = "mallory"
        forged.prev = last.hash
        forged.hash = forged.computedHash
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/audit.log"))
        handle.seekToEndOfFile()
        handle.write(Data(try forged.canonicalLine() + [0x0a]))
        try handle.close()
        #expect(throws: PKIError.self, "the forged line would be chained and signed") { try log.checkpoint() }

        // Restarted over it: the chain verifies, so it is continued, but not vouched for.
        let restarted = try AuditLog(path: dir + "/audit.log", ca: ca)
        #expect(restarted.unattestedAtStart == 1...2)
        try restarted.checkpoint()
        let report = AuditVerifier.verify(try String(contentsOfFile: dir + "/audit.log", encoding: .utf8), trusting: ca.certificate)
        #expect(report.firstBad == nil && report.unattested == ["1-2"])
    }

    @Test("the last good cluster spec is kept and a refused file leaves it in force")
    func lastGood() async throws {
        let dir = temporaryDirectory()
        var spec = smallSpec()
        let plane = try ControlPlane(stateDirectory: dir, spec: spec)
        defer { plane.close() }
        #expect(try ControlPlane.lastGoodSpec(in: dir) == spec)
        spec.pods.removeLast()
        try await plane.update(spec: spec)
        #expect(try ControlPlane.lastGoodSpec(in: dir) == spec)
        await #expect(throws: (any Error).self) { try await plane.apply(.refused("broken", version: "v9")) }
        #expect(try ControlPlane.lastGoodSpec(in: dir) == spec, "a refused file replaced the last good spec")
    }

    @Test("the admin socket is not put in a directory others can enter, and that directory's mode is left alone")
    func sharedSocketDirectory() throws {
        let shared = temporaryDirectory() + "/run"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        chmod(shared, 0o1777)
        #expect(throws: ControlServer.SocketPathError.self) { try ControlServer.prepareSocketPath(shared + "/admin.sock") }
        var info = stat()
        stat(shared, &info)
        #expect(info.st_mode & 0o7777 == 0o1777, "the shared directory was chmod'ed")
    }
}
