// The agent half of scripts/bench-agent: in namespace NETNS (with an uplink `uplink0`),
// program PEERS peers from nothing, reconcile again with no change, then change one peer,
// and print one JSON object with the times, the kernel writes and the peak RSS.
//
// Usage: weft-bench-agent NETNS PEERS
import Foundation
import Netlink
import WeftAgent
import WeftModel

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("weft-bench-agent: \(message)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let peers = Int(arguments[2]), peers > 0, peers < 60_000 else {
    fail("usage: weft-bench-agent NETNS PEERS (PEERS 1-59999)")
}

/// Peer i: index i+2, VTEP 10.(64 + i/256).(i%256).0 … one /24 pod CIDR each.
func state(peers: Int, revision: UInt64) -> DesiredNodeState {
    let node = NodeSettings(name: "bench", index: 1, underlay: "192.0.2.1", uplink: "uplink0", vtepMAC: "02:57:46:00:00:01",
                            vtepAddress: "10.63.255.0", podCIDR: "10.63.255.0/24", mtu: 1450)
    let list = (0..<peers).map { i -> Peer in
        let (hi, lo) = (64 + i / 256, i % 256)
        return Peer(name: "peer-\(i)", index: UInt32(i + 2), underlay: "198.51.100.\(1 + i % 250)",
                    vtepMAC: String(format: "02:57:47:00:%02x:%02x", i / 256, i % 256), vtepAddress: "10.\(hi).\(lo).0",
                    podCIDRs: ["10.\(hi).\(lo).0/24"])
    }
    return DesiredNodeState(revision: revision, cluster: ClusterSettings(id: "bench", vni: 42, encryption: false), node: node, peers: list)
}

func timed(_ body: () throws -> ReconcileReport) rethrows -> (Double, ReconcileReport) {
    let start = ContinuousClock.now
    let report = try body()
    let elapsed = ContinuousClock.now - start
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, report)
}

/// Peak resident set size (VmHWM), in MB.
func peakRSS() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

do {
    let reconciler = Reconciler(socket: try NetlinkSocket(family: .route, namespace: arguments[1]))
    var desired = state(peers: peers, revision: 1)
    let (programS, program) = try timed { try reconciler.apply(desired) }
    guard program.succeeded else { fail("programming failed: \(program.failures.first!.error)") }
    let (noopS, noop) = try timed { try reconciler.apply(desired) }
    desired.revision = 2
    desired.peers[peers / 2].vtepMAC = "02:57:48:00:00:01"
    desired.peers[peers / 2].underlay = "203.0.113.7"
    let (_, onePeer) = try timed { try reconciler.apply(desired) }
    print("{\"peers\":\(peers),\"program_s\":\(programS),\"program_writes\":\(program.writes),\"noop_reconcile_s\":\(noopS),"
        + "\"noop_writes\":\(noop.writes),\"one_peer_writes\":\(onePeer.writes),\"rss_mb\":\(peakRSS())}")
} catch {
    fail("\(error)")
}
