import Foundation
import WeftCNI

// weft-cni: the CNI plugin the container runtime runs. It reads the CNI_* environment and
// the network configuration, and forwards them to the node's weft-agent, which does the
// work (docs/cni.md). What it prints on stdout is the result or the spec's error.
let stdin = Array(FileHandle.standardInput.readData(ofLength: AgentWire.maxRequest))
let reply = Plugin.run(environment: ProcessInfo.processInfo.environment, stdin: stdin)
if !reply.output.isEmpty { print(reply.output) }
exit(reply.exitCode)
