// The agent half of scripts/bench-agent: in namespace NETNS (with an uplink `uplink0`),
// program PEERS peers from nothing, reconcile again with no change, then change one peer,
// and print one JSON object with the times, the kernel writes and the peak RSS. With
// --encrypt every peer encrypts: two SAs and two policies each, keys derived as in
// production (needs a kernel with ESP).
//
// Usage: weft-bench-agent NETNS PEERS [--encrypt]
import Crypto
import Foundation
import Netlink
import WeftAgent
import WeftModel

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("weft-bench-agent: \(message)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || (arguments.count == 4 && arguments[3] == "--encrypt"),
      let peers = Int(arguments[2]), peers > 0, peers < 60_000 else {
    fail("usage: weft-bench-agent NETNS PEERS [--encrypt] (PEERS 1-59999)")
}
let encrypt = arguments.count == 4
let nodeKey = P256.KeyAgreement.PrivateKey()

/// Peer i: index i+2, underlay 10.200.(i/250).(1+i%250), VTEP 10.(64 + i/256).(i%256).0,
/// one /24 pod CIDR each; encrypting: SPIs 0x10000 + index (outbound) and 0x20000 + index
/// (inbound), a fresh key-agreement key.
func state(peers: Int, revision: UInt64) -> DesiredNodeState {
    let node = NodeSettings(name: "bench", index: 1, underlay: "192.0.2.1", uplink: "uplink0", vtepMAC: "02:57:46:00:00:01",
                            vtepAddress: "10.63.255.0", podCIDR: "10.63.255.0/24", mtu: 1400)
    let list = (0..<peers).map { i -> Peer in
        let (hi, lo) = (64 + i / 256, i % 256)
        var peer = Peer(name: "peer-\(i)", index: UInt32(i + 2), underlay: "10.200.\(i / 250).\(1 + i % 250)",
                        vtepMAC: String(format: "02:57:47:00:%02x:%02x", i / 256, i % 256), vtepAddress: "10.\(hi).\(lo).0",
                        podCIDRs: ["10.\(hi).\(lo).0/24"])
        if encrypt {
            peer.encrypt = true
            peer.outbound = SAPlan(spi: 0x10000 + UInt32(i + 2), epoch: 1)
            peer.inbound = SAPlan(spi: 0x20000 + UInt32(i + 2), epoch: 1)
            peer.keyAgreementPublicKey = P256.KeyAgreement.PrivateKey().publicKey.x963Representation.base64EncodedString()
        }
        return peer
    }
    return DesiredNodeState(revision: revision, cluster: ClusterSettings(id: "bench", vni: 42, encryption: encrypt), node: node, peers: list)
}

/// What a run keeps of a reconcile: its figures, not its report (an agent keeps no report
/// either, and 80,000 changes held on would be counted in the next run's peak RSS).
struct Figures {
    var seconds: Double, writes: Int, xfrmChanges: Int, failure: String?
}

func timed(_ body: () throws -> ReconcileReport) rethrows -> Figures {
    let start = ContinuousClock.now
    let report = try body()
    let elapsed = ContinuousClock.now - start
    let failure = report.succeeded ? nil : report.failures.first.map { "\($0.error)" } ?? "refused"
    return Figures(seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                   writes: report.writes, xfrmChanges: report.xfrmChanges.count, failure: failure)
}

/// Peak resident set size (VmHWM), in MB.
func peakRSS() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

do {
    let reconciler = Reconciler(socket: try NetlinkSocket(family: .route, namespace: arguments[1]),
                                xfrm: encrypt ? try NetlinkSocket(family: .xfrm, namespace: arguments[1]) : nil,
                                privateKey: nodeKey)
    var desired = state(peers: peers, revision: 1)
    let program = try timed { try reconciler.apply(desired) }
    if let failure = program.failure { fail("programming failed: \(failure)") }
    let noop = try timed { try reconciler.apply(desired) }
    desired.revision = 2
    desired.peers[peers / 2].vtepMAC = "02:57:48:00:00:01"
    desired.peers[peers / 2].underlay = "203.0.113.7"
    let onePeer = try timed { try reconciler.apply(desired) }
    print("{\"peers\":\(peers),\"encrypted\":\(encrypt),\"xfrm_objects\":\(program.xfrmChanges),\"program_s\":\(program.seconds),\"program_writes\":\(program.writes),\"noop_reconcile_s\":\(noop.seconds),"
        + "\"noop_writes\":\(noop.writes),\"one_peer_writes\":\(onePeer.writes),\"rss_mb\":\(peakRSS())}")
} catch {
    fail("\(error)")
}
