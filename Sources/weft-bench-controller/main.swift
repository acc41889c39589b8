// The planning half of scripts/bench-controller: builds a synthetic cluster (NODES nodes,
// PODS pods, POLICIES policies), plans it from scratch, then makes two single-pod changes
// and reports how long each took and how many nodes got a new state. One JSON line.
//
// Cluster shape: node i has pod CIDR 10.(64 + i/256).(i%256).0/24 and PODS/NODES pods;
// pod j is in namespace ns-(j%10) with labels app=app-(j%1000), tier=t(j%3) (3,000
// identities); policy p lets app-((p+1)%1000) reach app-p on TCP 8080. Encryption on,
// every node joined.
//
// Then the fan-out (Fanout.swift): FANOUT clients watching over real gRPC/mTLS on loopback.
//
// Usage: weft-bench-controller [NODES PODS POLICIES [FANOUT]]
//        weft-bench-controller joins [COUNT [CONCURRENCY]]   (Joins.swift)
//        weft-bench-controller fanout-clients FILE   (the fan-out's client process)
//        weft-bench-controller k8s-populate|k8s-sync KUBECONFIG NODES PODS SPARE   (Kubernetes.swift)
import Foundation
import WeftController
import WeftKubernetes
import WeftModel
import WeftPlanner

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("weft-bench-controller: \(message)\n".utf8))
    exit(1)
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "fanout-clients" {
    try await runFanoutClients(planFile: CommandLine.arguments[2])
    exit(0)
}
if CommandLine.arguments.count == 6, ["k8s-populate", "k8s-sync"].contains(CommandLine.arguments[1]) {
    let numbers = CommandLine.arguments.dropFirst(3).compactMap { Int($0) }
    guard numbers.count == 3, numbers[0] > 0, numbers[1] >= numbers[0], numbers[2] > 0, numbers[0] < 60_000,
          KubernetesBench.perNode(nodes: numbers[0], pods: numbers[1] + numbers[2]) <= 250 else {
        fail("usage: weft-bench-controller k8s-populate|k8s-sync KUBECONFIG NODES PODS SPARE")
    }
    if CommandLine.arguments[1] == "k8s-populate" {
        let client = try KubernetesClient(endpoint: try KubernetesEndpoint.kubeconfig(CommandLine.arguments[2]))
        try await KubernetesBench(client: client).populate(nodes: numbers[0], pods: numbers[1], spare: numbers[2])
        try await client.shutdown()
    } else {
        print(try await kubernetesSync(kubeconfig: CommandLine.arguments[2], nodes: numbers[0], pods: numbers[1], spare: numbers[2]))
    }
    exit(0)
}
if CommandLine.arguments.count >= 2, CommandLine.arguments[1] == "joins" {
    let numbers = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
    let count = numbers.first ?? 1_000, concurrency = numbers.dropFirst().first ?? 64
    guard count > 0, count < 60_000, concurrency > 0 else { fail("usage: weft-bench-controller joins [COUNT [CONCURRENCY]]") }
    let result = try await joins(count: count, concurrency: concurrency)
    print("{\"joins\":\(count),\"join_concurrency\":\(concurrency),\"join_tokens_s\":\(String(format: "%.2f", result.tokens)),"
          + "\"joins_s\":\(String(format: "%.2f", result.joins)),\"joins_per_s\":\(String(format: "%.0f", Double(count) / result.joins)),"
          + "\"joins_rss_mb\":\(String(format: "%.1f", peakRSS()))}")
    exit(0)
}
let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let (nodeCount, podCount, policyCount) = arguments.count >= 3 ? (arguments[0], arguments[1], arguments[2]) : (5_000, 150_000, 1_000)
let fanoutClients = arguments.count >= 4 ? arguments[3] : 1_000
guard nodeCount > 1, nodeCount < 60_000, podCount >= nodeCount, policyCount >= 0 else { fail("usage: weft-bench-controller [NODES PODS POLICIES]") }

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func currentRSS() -> Double { statusMB("VmRSS:") }

func peakRSS() -> Double { statusMB("VmHWM:") }

/// A memory figure of /proc/self/status, in MB.
func statusMB(_ field: String) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

func cidr(_ i: Int) -> (String, String) { ("10.\(64 + i / 256).\(i % 256)", "10.\(64 + i / 256).\(i % 256).0/24") }

let perNode = podCount / nodeCount
let nodes = (0..<nodeCount).map { i in NodeSpec(name: String(format: "node-%05d", i), underlay: "10.0.\(i / 250).\(1 + i % 250)", podCIDR: cidr(i).1) }
let pods = (0..<podCount).map { j -> PodSpec in
    let node = min(j / perNode, nodeCount - 1), slot = j - node * perNode
    return PodSpec(namespace: "ns-\(j % 10)", name: "pod-\(j)", node: nodes[node].name, address: "\(cidr(node).0).\(2 + slot % 250)",
                   labels: ["app": "app-\(j % 1000)", "tier": "t\(j % 3)"])
}
let policies = (0..<policyCount).map { p in
    PolicySpec(name: "policy-\(p)", selector: ["app": "app-\(p % 1000)"], from: [PeerSelector(labels: ["app": "app-\((p + 1) % 1000)"])],
               proto: "tcp", port: 8080)
}
let spec = ClusterSpec(cluster: ClusterIdentity(name: "bench", id: "bench"), encryption: EncryptionSettings(enabled: true),
                       nodes: nodes, pods: pods, policies: policies)
let credentials = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, NodeCredentials(keyAgreementPublicKey: "key-\($0.name)", incarnation: "1")) })

let clock = ContinuousClock()
var planner: Planner!
let full = try clock.measure { planner = try Planner(spec: spec, credentials: credentials) }
let documentTime = clock.measure { _ = planner.desiredState(for: nodes[0].name) }
let document = planner.desiredState(for: nodes[0].name)!
// Encoded as the Watch stream sends it.
var wireBytes = 0
let wireTime = try clock.measure { wireBytes = try ControlService.watchEncoder().encode(document).count }

// One pod added (an existing identity, on node 0), then one pod's label changed.
var added = pods[0]
added.name = "pod-added"
added.address = "\(cidr(0).0).\(2 + perNode)"
var changedAdd: Set<String> = []
let addTime = try clock.measure { changedAdd = try planner.apply([.upsert(added)]) }
var relabelled = pods[perNode * 7]
relabelled.labels["app"] = "app-relabelled"
var changedLabel: Set<String> = []
let labelTime = try clock.measure { changedLabel = try planner.apply([.upsert(relabelled)]) }

let planningRSS = peakRSS()
planner = nil
FileHandle.standardError.write(Data("weft-bench-controller: planning done; fan-out to \(fanoutClients) clients\n".utf8))
let fan = try await fanout(clients: fanoutClients)

let figures: [(String, String)] = [
    ("nodes", "\(nodeCount)"), ("pods", "\(podCount)"), ("policies", "\(policyCount)"),
    ("full_plan_s", String(format: "%.3f", seconds(full))),
    ("node_document_ms", String(format: "%.2f", seconds(documentTime) * 1000)),
    ("node_document_peers", "\(document.peers.count)"), ("node_document_ipcache", "\(document.ipcache.count)"),
    ("node_document_rules", "\(document.policy.count)"),
    ("node_document_json_bytes", "\(wireBytes)"), ("node_document_json_ms", String(format: "%.1f", seconds(wireTime) * 1000)),
    ("incremental_ms", String(format: "%.3f", max(seconds(addTime), seconds(labelTime)) * 1000)),
    ("pod_add_ms", String(format: "%.3f", seconds(addTime) * 1000)), ("pod_add_nodes", "\(changedAdd.count)"),
    ("label_change_ms", String(format: "%.3f", seconds(labelTime) * 1000)), ("label_change_nodes", "\(changedLabel.count)"),
    ("fanout_clients", "\(fanoutClients)"), ("fanout_affected", "\(fan.affected)"), ("fanout_setup_s", String(format: "%.1f", fan.setup)),
    ("fanout_p50_ms", String(format: "%.1f", fan.p50 * 1000)), ("fanout_p99_ms", String(format: "%.1f", fan.p99 * 1000)),
    // rss_mb: the controller's peak over both phases (this process; the clients run apart).
    ("rss_mb", String(format: "%.1f", peakRSS())), ("planning_rss_mb", String(format: "%.1f", planningRSS)),
    ("fanout_clients_rss_mb", String(format: "%.1f", fan.clientRSS)),
    ("fanout_controller_rss_after_mb", String(format: "%.1f", fan.rssNow)),
]
print("{" + figures.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
