import Logging
import WeftKubernetes
import WeftModel
import WeftPlanner

/// The Kubernetes API as the cluster source: Nodes, Namespaces, NetworkPolicies and Pods,
/// each listed and watched by its own reflector. Once all four are listed, the whole state
/// is one `snapshot`; after that a pod event is one incremental `pods` change (what a pod
/// costs from the file source), while a change to what the plan reads of a node,
/// namespace or policy is a new snapshot (which the planner diffs, so a relist after
/// `410 Gone` deletes whatever vanished meanwhile). Only the controller watches the API.
public struct KubernetesSource: ClusterSource {
    let client: KubernetesClient
    let settings: ClusterSpec
    let options: ClusterState.Options
    let metrics: ControllerMetrics?
    let logger: Logger

    /// `metrics`: where the count of objects left out goes (the plane's).
    public init(client: KubernetesClient, settings: ClusterSpec, options: ClusterState.Options = .init(), metrics: ControllerMetrics? = nil, logger: Logger) {
        self.client = client
        self.settings = settings
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    public func events() -> AsyncStream<ClusterEvent> {
        AsyncStream { continuation in
            let task = Task { await run(continuation) }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    func run(_ out: AsyncStream<ClusterEvent>.Continuation) async {
        let recorder = EventRecorder(client: client, logger: logger)
        let feed = KubernetesFeed(state: ClusterState(settings: settings, options: options), out: out, recorder: recorder, metrics: metrics, logger: logger)
        let client = client, logger = logger
        await withTaskGroup(of: Void.self) { writing in
            writing.addTask { await recorder.run() }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Reflector<NodeObject>(client: client, resource: .nodes, logger: logger).run { await feed.nodes($0) } }
                group.addTask { try? await Reflector<NamespaceObject>(client: client, resource: .namespaces, logger: logger).run { await feed.namespaces($0) } }
                group.addTask { try? await Reflector<NetworkPolicyObject>(client: client, resource: .networkPolicies, logger: logger).run { await feed.policies($0) } }
                group.addTask { try? await Reflector<PodObject>(client: client, resource: .pods, logger: logger).run { await feed.pods($0) } }
            }
            // The reflectors end only when the source is cancelled: so does the recorder.
            recorder.finish()
        }
        out.finish()
    }
}

/// The reflectors' events in one order: the cluster state they build and the events it yields.
actor KubernetesFeed {
    var state: ClusterState
    let out: AsyncStream<ClusterEvent>.Continuation
    let recorder: EventRecorder
    let metrics: ControllerMetrics?
    let logger: Logger
    private var listed: Set<WatchedResource> = []
    private var reported: [InvolvedObject: String] = [:]
    private var unenforced: Set<UnenforcedPolicyPart> = []

    init(state: ClusterState, out: AsyncStream<ClusterEvent>.Continuation, recorder: EventRecorder, metrics: ControllerMetrics?, logger: Logger) {
        self.state = state
        self.out = out
        self.recorder = recorder
        self.metrics = metrics
        self.logger = logger
    }

    func nodes(_ event: Reflector<NodeObject>.Event) {
        switch event {
        case .replaced(let items, let version): state.replace(nodes: items); snapshot(after: .nodes, version)
        case .upserted(let node, let version), .deleted(let node, let version):
            let deleted = if case .deleted = event { true } else { false }
            let before = state.nodes[node.metadata.name].map(state.plannable)
            state.set(node: node, deleted: deleted)
            let after = deleted ? nil : state.plannable(node)
            if !Self.same(before, after) { snapshot(after: nil, version) }
        }
    }

    func namespaces(_ event: Reflector<NamespaceObject>.Event) {
        switch event {
        case .replaced(let items, let version): state.replace(namespaces: items); snapshot(after: .namespaces, version)
        case .upserted(let namespace, let version), .deleted(let namespace, let version):
            let deleted = if case .deleted = event { true } else { false }
            let before = state.namespaces[namespace.metadata.name]?.metadata.labels
            state.set(namespace: namespace, deleted: deleted)
            if deleted || before != namespace.metadata.labels { snapshot(after: nil, version) }
        }
    }

    func policies(_ event: Reflector<NetworkPolicyObject>.Event) {
        switch event {
        case .replaced(let items, let version): state.replace(policies: items); snapshot(after: .networkPolicies, version)
        case .upserted(let policy, let version), .deleted(let policy, let version):
            let deleted = if case .deleted = event { true } else { false }
            let key = ObjectReference(namespace: policy.metadata.namespace ?? "default", name: policy.metadata.name)
            let before = state.policies[key]?.spec
            state.set(policy: policy, deleted: deleted)
            if deleted || before != policy.spec { snapshot(after: nil, version) }
        }
    }

    func pods(_ event: Reflector<PodObject>.Event) {
        switch event {
        case .replaced(let items, let version): state.replace(pods: items); snapshot(after: .pods, version)
        case .upserted(let pod, let version), .deleted(let pod, let version):
            let deleted = if case .deleted = event { true } else { false }
            let changes = state.set(pod: pod, deleted: deleted)
            guard listed.count == WatchedResource.allCases.count, !changes.isEmpty else { return }
            out.yield(.pods(changes, version: version))
            report()
        }
    }

    /// The whole state, once every resource has been listed (`resource`: the one just listed).
    private func snapshot(after resource: WatchedResource?, _ version: String) {
        if let resource { listed.insert(resource) }
        guard listed.count == WatchedResource.allCases.count else { return }
        let spec = state.spec()
        out.yield(.snapshot(spec, version: version))
        report()
        // What the datapath does not enforce yet, as an Event on the policy (the controller logs it too).
        let parts = Set(UnenforcedPolicyPart.all(in: spec))
        for part in parts.subtracting(unenforced).sorted(by: { $0.description < $1.description }) {
            let name = part.policy.split(separator: "/", maxSplits: 1).map(String.init)
            guard name.count == 2 else { continue }
            recorder.record(InvolvedObject(.networkPolicy, namespace: name[0], name: name[1]), reason: "WeftPolicyNotEnforced", message: "\(part.at): \(part.what)")
        }
        unenforced = parts
    }

    /// Each object left out of the plan, logged once with its reason (and again if that
    /// changes), and an Event on it.
    private func report() {
        for (object, reason) in state.excluded where reported[object] != reason {
            logger.warning("not planned", metadata: ["object": "\(object)", "reason": "\(reason)"])
            recorder.record(object, reason: object.kind == .networkPolicy ? "WeftPolicyRefused" : "WeftNotPlanned", message: reason)
        }
        reported = state.excluded
        metrics?.objectsNotPlanned.set(Double(reported.count))
    }

    static func same(_ a: Result<NodeSpec, ClusterState.Reason>?, _ b: Result<NodeSpec, ClusterState.Reason>?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (.success(let x)?, .success(let y)?): x == y
        case (.failure(let x)?, .failure(let y)?): x.description == y.description
        default: false
        }
    }
}
