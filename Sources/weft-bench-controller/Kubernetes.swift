// The Kubernetes half of scripts/bench-controller --kubernetes, against a real API server:
//
//   weft-bench-controller k8s-populate KUBECONFIG NODES PODS SPARE
//     creates NODES nodes (pod CIDR 10.(1 + i/256).(i%256).0/24, InternalIP
//     10.255.(i/256).(i%256)), PODS pods spread over them with their IPs set by status
//     patches, and SPARE pods without IPs (the latency probe's), 32 requests in flight.
//   weft-bench-controller k8s-sync KUBECONFIG NODES PODS SPARE
//     a ControlPlane fed by KubernetesSource in this process: the time from start until the
//     first snapshot with every node and pod is planned (the spare ones too, scheduled
//     without an address), this process's RSS, then for each spare pod the time from
//     sending its status patch (its IP appears) until the plane has applied that pod's
//     change (its address) and computed the affected nodes' deltas. One JSON line.
import Foundation
import Logging
import WeftController
import WeftKubernetes
import WeftModel
import WeftPlanner

struct KubernetesBench {
    let client: KubernetesClient

    static func node(_ i: Int) -> (name: String, cidr: String, prefix: String, underlay: String) {
        (String(format: "node-%05d", i), "10.\(1 + i / 256).\(i % 256).0/24", "10.\(1 + i / 256).\(i % 256)", "10.255.\(i / 256).\(i % 256)")
    }

    static func json(_ object: Any) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }

    /// `body` for 0..<count, `width` at a time.
    static func parallel(_ count: Int, width: Int = 32, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                if i >= width { try await group.next() }
                group.addTask { try await body(i) }
            }
            try await group.waitForAll()
        }
    }

    func createPod(_ j: Int, node: Int, ip: String?) async throws {
        let n = Self.node(node), name = "pod-\(j)", namespace = "ns-\(j % 10)"
        _ = try await client.call("/api/v1/namespaces/\(namespace)/pods", method: .POST, body: Self.json([
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": name, "namespace": namespace, "labels": ["app": "app-\(j % 1000)", "tier": "t\(j % 3)"]],
            "spec": ["nodeName": n.name, "containers": [["name": "c", "image": "weft.local/probe:1", "ports": [["name": "http", "containerPort": 8080]]]]],
        ]))
        if let ip { try await setIP(j, ip) }
    }

    func setIP(_ j: Int, _ ip: String) async throws {
        _ = try await client.call("/api/v1/namespaces/ns-\(j % 10)/pods/pod-\(j)/status", method: .PATCH,
                                  body: Self.json(["status": ["podIP": ip, "podIPs": [["ip": ip]]]]), contentType: "application/merge-patch+json")
    }

    /// Pods per node: all of them spread evenly (at most 250, the /24 less a few).
    static func perNode(nodes: Int, pods: Int) -> Int { (pods + nodes - 1) / nodes }

    static func address(_ j: Int, perNode: Int) -> (node: Int, ip: String) {
        let node = j / perNode, slot = j % perNode
        return (node, "\(Self.node(node).prefix).\(2 + slot % 250)")
    }

    func populate(nodes: Int, pods: Int, spare: Int) async throws {
        let client = client, started = ContinuousClock.now
        for ns in 0..<10 {
            _ = try await client.call("/api/v1/namespaces", method: .POST, body: Self.json(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "ns-\(ns)"]]))
        }
        try await Self.parallel(nodes) { i in
            let n = Self.node(i)
            _ = try await client.call("/api/v1/nodes", method: .POST, body: Self.json([
                "apiVersion": "v1", "kind": "Node", "metadata": ["name": n.name], "spec": ["podCIDR": n.cidr, "podCIDRs": [n.cidr]]]))
            _ = try await client.call("/api/v1/nodes/\(n.name)/status", method: .PATCH,
                                      body: Self.json(["status": ["addresses": [["type": "InternalIP", "address": n.underlay]]]]), contentType: "application/merge-patch+json")
        }
        FileHandle.standardError.write(Data("k8s-populate: \(nodes) nodes in \(Int(seconds(ContinuousClock.now - started))) s\n".utf8))
        let perNode = Self.perNode(nodes: nodes, pods: pods + spare), bench = self
        let progress = Progress(total: pods + spare)
        try await Self.parallel(pods + spare) { j in
            let place = Self.address(j, perNode: perNode)
            try await bench.createPod(j, node: place.node, ip: j < pods ? place.ip : nil)
            await progress.tick()
        }
        FileHandle.standardError.write(Data("k8s-populate: \(pods + spare) pods in \(Int(seconds(ContinuousClock.now - started))) s\n".utf8))
    }

    actor Progress {
        let total: Int
        var done = 0
        init(total: Int) { self.total = total }
        func tick() {
            done += 1
            if done % 5_000 == 0 { FileHandle.standardError.write(Data("k8s-populate: \(done)/\(total) pods\n".utf8)) }
        }
    }
}

/// Pods whose change the plane has applied, with when: what the latency probe waits for.
actor AppliedPods {
    var times: [String: ContinuousClock.Instant] = [:]
    var waiters: [String: CheckedContinuation<ContinuousClock.Instant, Never>] = [:]

    func applied(_ names: [String], at time: ContinuousClock.Instant) {
        for name in names {
            if let waiter = waiters.removeValue(forKey: name) { waiter.resume(returning: time) } else { times[name] = time }
        }
    }

    func wait(for name: String) async -> ContinuousClock.Instant {
        if let time = times.removeValue(forKey: name) { return time }
        return await withCheckedContinuation { waiters[name] = $0 }
    }
}

func kubernetesSync(kubeconfig: String, nodes: Int, pods: Int, spare: Int) async throws -> String {
    let client = try KubernetesClient(endpoint: try KubernetesEndpoint.kubeconfig(kubeconfig))
    let settings = ClusterSpec(cluster: ClusterIdentity(name: "bench", id: "bench"), encryption: EncryptionSettings(enabled: false))
    let directory = NSTemporaryDirectory() + "weft-bench-k8s-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let plane = try ControlPlane(stateDirectory: directory, spec: settings)
    var logger = Logger(label: "bench", factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel = ProcessInfo.processInfo.environment["WEFT_BENCH_LOG"] == nil ? .error : .info
    let source = KubernetesSource(client: client, settings: settings, logger: logger)
    let applied = AppliedPods()
    let start = ContinuousClock.now
    let (synced, syncedAt) = AsyncStream.makeStream(of: Duration.self)
    let feeding = Task {
        var first = true
        for await event in source.events() {
            do { _ = try await plane.apply(event) } catch { logger.error("refused", metadata: ["error": "\(error)"]) }
            let now = ContinuousClock.now
            if case .snapshot(let spec, _) = event { logger.info("snapshot", metadata: ["nodes": "\(spec.nodes.count)", "pods": "\(spec.pods.count)"]) }
            switch event {
            // the spare pods too: scheduled, they are planned before they have an IP
            case .snapshot(let spec, _) where first && spec.nodes.count == nodes && spec.pods.count == pods + spare:
                first = false
                syncedAt.yield(now - start)
            case .pods(let changes, _):
                await applied.applied(changes.compactMap { if case .upsert(let pod) = $0 { pod.name } else { nil } }, at: now)
            default: break
            }
        }
    }
    var iterator = synced.makeAsyncIterator()
    guard let syncTime = await iterator.next() else { fail("the source ended before the first sync") }
    let rssSynced = peakRSS()
    let bench = KubernetesBench(client: client)
    let perNode = KubernetesBench.perNode(nodes: nodes, pods: pods + spare)
    var latencies: [Double] = []
    for j in pods..<(pods + spare) {
        let sent = ContinuousClock.now
        try await bench.setIP(j, KubernetesBench.address(j, perNode: perNode).ip)
        let done = try await withThrowingTaskGroup(of: ContinuousClock.Instant.self) { group in
            group.addTask { await applied.wait(for: "pod-\(j)") }
            group.addTask { try await Task.sleep(for: .seconds(60)); throw CancellationError() }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { fail("pod-\(j) was never planned") }
            return first
        }
        latencies.append(seconds(done - sent) * 1000)
    }
    feeding.cancel()
    try await client.shutdown()
    let sorted = latencies.sorted()
    func format(_ value: Double) -> String { String(format: "%.2f", value) }
    return "{\"k8s_nodes\":\(nodes),\"k8s_pods\":\(pods),\"k8s_initial_sync_s\":\(format(seconds(syncTime))),"
        + "\"k8s_controller_rss_mb\":\(String(format: "%.1f", rssSynced)),\"k8s_changes\":\(sorted.count),"
        + "\"k8s_ip_to_delta_p50_ms\":\(format(sorted[sorted.count / 2])),\"k8s_ip_to_delta_p99_ms\":\(format(sorted[min(sorted.count - 1, sorted.count * 99 / 100)])),"
        + "\"k8s_rss_after_mb\":\(String(format: "%.1f", peakRSS()))}"
}
