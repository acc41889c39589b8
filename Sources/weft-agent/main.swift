// weft-agent: makes this node's kernel match its desired state.
//
//   weft-agent apply --desired FILE [--key FILE] [--bpf DIR --pin-root DIR] [-n NETNS] [--dry-run]
//
// --key: this node's P-256 key-agreement private key (PEM), needed when peers encrypt.
// --bpf: directory with weft_uplink.o and weft_overlay.o (scripts/build-bpf); with it the
//        trust filters are attached and their maps (pinned under --pin-root) filled.
//
// `apply` reconciles once, prints each change and per-kind counts, and exits non-zero if
// any change failed. (`run`, which keeps the state reconciled and takes it from the
// controller, arrives with the rest of the agent.)
import Crypto
import Foundation
import Netlink
import WeftAgent
import WeftModel

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("weft-agent: \(message)\n".utf8))
    exit(status)
}

let usage = "usage: weft-agent apply --desired FILE [--key FILE] [--bpf DIR --pin-root DIR] [-n NETNS] [--dry-run]"
var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "apply" else { fail(usage, status: 2) }
arguments.removeFirst()
var file: String?, keyFile: String?, namespace: String?, dryRun = false
var bpfDirectory: String?, pinRoot = "/sys/fs/bpf/weft"
while let argument = arguments.first {
    arguments.removeFirst()
    switch argument {
    case "--desired": file = arguments.isEmpty ? nil : arguments.removeFirst()
    case "--key": keyFile = arguments.isEmpty ? nil : arguments.removeFirst()
    case "--bpf": bpfDirectory = arguments.isEmpty ? nil : arguments.removeFirst()
    case "--pin-root": if !arguments.isEmpty { pinRoot = arguments.removeFirst() }
    case "-n", "--netns": namespace = arguments.isEmpty ? nil : arguments.removeFirst()
    case "--dry-run": dryRun = true
    default: fail("unknown argument \"\(argument)\"; \(usage)", status: 2)
    }
}
guard let file else { fail(usage, status: 2) }

do {
    guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
    let state = try DesiredNodeState.decode(data)
    var privateKey: P256.KeyAgreement.PrivateKey?
    if let keyFile {
        // The key itself never reaches an error message: only the file's name does.
        guard let pem = FileManager.default.contents(atPath: keyFile).flatMap({ String(data: $0, encoding: .utf8) }),
              let key = try? P256.KeyAgreement.PrivateKey(pemRepresentation: pem) else {
            fail("\(keyFile) is not a readable PEM P-256 private key")
        }
        privateKey = key
    }
    let trust = try bpfDirectory.map { try TrustFilters(objects: $0, pinRoot: pinRoot) }
    let reconciler = Reconciler(socket: try NetlinkSocket(family: .route, namespace: namespace),
                                xfrm: try NetlinkSocket(family: .xfrm, namespace: namespace), privateKey: privateKey,
                                trust: dryRun ? nil : trust)
    let report = dryRun ? try reconciler.plan(state) : try reconciler.apply(state)
    if let device = report.device { print(device) }
    for change in report.xfrmChanges where !change.description.hasPrefix("delete") { print(change) }
    for change in report.changes { print(change) }
    for change in report.xfrmChanges where change.description.hasPrefix("delete") { print(change) }
    for (change, error) in report.failures { print("failed: \(change): \(error)") }
    let counts = report.countsByKind.filter { $0.added + $0.replaced + $0.deleted > 0 }
        .map { "\($0.kind) +\($0.added) ~\($0.replaced) -\($0.deleted)" }
    let verb = dryRun ? "would change" : "changed"
    let total = report.changes.count + report.xfrmChanges.count + (report.device == nil ? 0 : 1)
    print("revision \(state.revision): \(verb) \(total) objects"
        + (counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))")
        + (dryRun ? "" : ", \(report.writes) kernel writes, \(report.failures.count) failed"))
    exit(report.succeeded ? 0 : 1)
} catch {
    fail("\(error)")
}
