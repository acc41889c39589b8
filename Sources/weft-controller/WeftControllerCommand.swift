// weft-controller: plans every node's desired state from the cluster file and streams it
// to the agents over mTLS (docs/control-api.md).
//
//   weft-controller run --cluster FILE [--state-dir DIR] [--listen HOST:PORT] [--join-listen HOST:PORT]
//                       [--advertise IP|NAME[,...]] [--metrics-listen HOST:PORT] [--admin-socket PATH]
//
// The services are in WeftController (ControllerServices.swift); this target only parses
// options (swift-argument-parser: `weft-controller help run` lists them) and wires.
import ArgumentParser

@main
struct WeftControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-controller",
        abstract: "Weft's control plane: plans each node's desired state and streams it to the agents over mTLS.",
        subcommands: [Run.self])
}
