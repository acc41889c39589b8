import ArgumentParser
import WeftAgent
import WeftAgentDaemon

/// The options `apply` and `run` share: where the node's state is and which kernel.
struct NodeOptions: ParsableArguments {
    @Option(name: .customLong("desired"), help: ArgumentHelp("The desired node state (JSON, docs/desired-state.md).", valueName: "FILE"))
    var desired: String?

    @Option(name: .customLong("key"), help: ArgumentHelp("This node's P-256 key-agreement private key (PEM), needed when peers encrypt.", valueName: "FILE"))
    var key: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("What must survive the agent: the SA ledger; with --controller also keys, certificate and the last desired state.", valueName: "DIR"))
    var stateDirectory = "/var/lib/weft"

    @Option(name: .customLong("bpf"), help: ArgumentHelp("Directory with Weft's BPF objects (scripts/build-bpf): attach the trust filters (node and pod veths) and fill their maps.", valueName: "DIR"))
    var bpf: String?

    @Option(name: .customLong("pin-root"), help: ArgumentHelp("bpffs directory the filters' maps are pinned under.", valueName: "DIR"))
    var pinRoot = Ownership.bpfPinRoot

    @Option(name: [.customShort("n"), .customLong("netns")], help: ArgumentHelp("Program this network namespace (ip netns name) instead of the agent's own.", valueName: "NETNS"))
    var netns: String?

    /// The daemon's configuration for `source`, with these options filled in.
    func configuration(source: AgentConfiguration.Source) -> AgentConfiguration {
        var configuration = AgentConfiguration(source: source)
        configuration.namespace = netns
        configuration.bpfDirectory = bpf
        configuration.pinRoot = pinRoot
        configuration.stateDirectory = stateDirectory
        return configuration
    }
}
