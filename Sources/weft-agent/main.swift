// weft-agent: makes this node's kernel match its desired state.
//
//   weft-agent keygen --out FILE   (this node's key-agreement key; prints the public key)
//   weft-agent apply --desired FILE [--key FILE] [--bpf DIR --pin-root DIR] [-n NETNS] [--dry-run]
//   weft-agent run   --desired FILE [--key FILE] [--bpf DIR --pin-root DIR] [-n NETNS] [--resync SECONDS] [--metrics-port PORT]
//
// apply reconciles once and exits (non-zero if any change failed). run keeps the kernel
// reconciled: on a change of FILE, on netlink events (someone deleted a Weft object), and
// every --resync seconds; failed changes are retried with backoff; SIGTERM/SIGINT stop it
// and leave the datapath in place; /metrics (Prometheus) and /healthz are served on
// 127.0.0.1:PORT (9464). The controller stream replaces FILE with the control plane.
// --key: this node's P-256 key-agreement private key (PEM), needed when peers encrypt.
// --bpf: directory with weft_uplink.o and weft_overlay.o (scripts/build-bpf); with it the
//        trust filters are attached and their maps (pinned under --pin-root) filled.
// The daemon itself is `AgentDaemon` (Sources/WeftAgentDaemon); this file only parses.
import Foundation

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("weft-agent: \(message)\n".utf8))
    exit(status)
}

// A supervisor may have blocked SIGTERM/SIGINT before starting us (the mask is
// inherited): unblock them, or a graceful stop would never be noticed.
var unblocked = sigset_t()
sigemptyset(&unblocked)
sigaddset(&unblocked, SIGTERM)
sigaddset(&unblocked, SIGINT)
sigprocmask(SIG_UNBLOCK, &unblocked, nil)

var arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.isEmpty ? "" : arguments.removeFirst()
if command == "keygen" {
    do { exit(try keygen(arguments)) } catch { fail("\(error)", status: 2) }
}
guard command == "apply" || command == "run" else { fail(Options.usage, status: 2) }
let options: Options
do { options = try Options(arguments) } catch { fail("\(error)\n\(Options.usage)", status: 2) }
do {
    if command == "apply" { exit(try apply(options)) }
    try await run(options)
} catch {
    fail("\(error)", status: 1)
}
