import Foundation
import WeftModel

/// A desired state for node-a (index 1, underlay 192.0.2.1 on `uplink0`, VTEP 10.244.0.0)
/// with `peers` peers: peer i has index i+2, VTEP 10.244.(i+1).0 with MAC 02:57:46:00:00:(i+2),
/// pod CIDR 10.244.(i+1).0/24 and underlay 192.0.2.(i+2). Shared by the pure and the kernel tests.
public func sampleNodeState(peers: Int, revision: UInt64 = 1) -> DesiredNodeState {
    let node = NodeSettings(name: "node-a", index: 1, underlay: "192.0.2.1", uplink: "uplink0", vtepMAC: "02:57:46:00:00:01",
                            vtepAddress: "10.244.0.0", podCIDR: "10.244.0.0/24", mtu: 1450)
    let list = (0..<peers).map { i in
        Peer(name: "node-\(i + 2)", index: UInt32(i + 2), underlay: "192.0.2.\(i + 2)",
             vtepMAC: String(format: "02:57:46:00:00:%02x", i + 2), vtepAddress: "10.244.\(i + 1).0",
             podCIDRs: ["10.244.\(i + 1).0/24"])
    }
    return DesiredNodeState(revision: revision, cluster: ClusterSettings(id: "test", vni: 42, encryption: false), node: node, peers: list)
}
