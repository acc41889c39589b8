// weft-agent: makes this node's kernel match its desired state.
//
//   weft-agent keygen --out FILE   (this node's key-agreement key; prints the public key)
//   weft-agent apply --desired FILE [--key FILE] [--bpf DIR --pin-root DIR] [-n NETNS] [--dry-run]
//   weft-agent run   --desired FILE | --controller HOST:PORT --node NAME --ca FILE [...]
//
// The daemon itself is `AgentDaemon` (Sources/WeftAgentDaemon); this target only parses
// options (swift-argument-parser: `weft-agent help run` lists them) and wires.
import ArgumentParser

@main
struct WeftAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-agent",
        abstract: "Makes this node's kernel match its desired state (Weft's VXLAN overlay, XFRM, eBPF filters).",
        subcommands: [Run.self, Apply.self, Keygen.self])
}
