import Foundation
import Testing
import WeftKubernetes
import WeftModel
import WeftPlanner

/// The API's objects (as JSON the API server serves, extra fields and all) turned into the
/// planner's input: what is planned, what is left out and why, and pod events as changes.
@Suite("Kubernetes objects to the plan's input")
struct ClusterStateTests {
    static let settings = ClusterSpec(cluster: ClusterIdentity(name: "k", id: "k"))

    static func decode<T: Decodable>(_ json: String, as: T.Type = T.self) throws -> T { try JSONDecoder().decode(T.self, from: Data(json.utf8)) }

    static func node(_ name: String, cidr: String?, address: String? = "192.0.2.1", type: String = "InternalIP", annotation: String? = nil) throws -> NodeObject {
        let annotations = annotation.map { #""annotations": {"weft.dev/underlay-address": "\#($0)", "other": "x"},"# } ?? ""
        let cidrs = cidr.map { #""podCIDR": "\#($0)", "podCIDRs": ["\#($0)", "fd00::/64"]"# } ?? ""
        let addresses = address.map { #"[{"type": "Hostname", "address": "\#(name)"}, {"type": "\#(type)", "address": "\#($0)"}]"# } ?? "[]"
        return try decode("""
            {"kind": "Node", "metadata": {"name": "\(name)", "uid": "u", "resourceVersion": "5", \(annotations) "labels": {"a": "b"}},
             "spec": {\(cidrs)}, "status": {"addresses": \(addresses), "conditions": [{"type": "Ready", "status": "True"}]}}
            """)
    }

    static func pod(_ namespace: String, _ name: String, node: String?, ip: String?, phase: String = "Running", hostNetwork: Bool = false,
                    labels: String = #"{"app": "web"}"#, deleting: Bool = false) throws -> PodObject {
        let nodeName = node.map { #""nodeName": "\#($0)","# } ?? ""
        let ips = ip.map { #""podIP": "\#($0)", "podIPs": [{"ip": "\#($0)"}],"# } ?? ""
        let deletion = deleting ? #""deletionTimestamp": "2026-12-02T08:00:00Z","# : ""
        return try decode("""
            {"metadata": {"name": "\(name)", "namespace": "\(namespace)", \(deletion) "labels": \(labels), "resourceVersion": "7"},
             "spec": {\(nodeName) "hostNetwork": \(hostNetwork), "containers": [{"name": "c", "image": "i",
               "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}]}]},
             "status": {\(ips) "phase": "\(phase)", "conditions": []}}
            """)
    }

    @Test("nodes: InternalIP or the annotation as underlay, the first IPv4 pod CIDR; a node without one is left out with the reason")
    func nodes() throws {
        var state = ClusterState(settings: Self.settings)
        state.replace(nodes: [try Self.node("n1", cidr: "10.1.0.0/24"), try Self.node("n2", cidr: nil, address: "192.0.2.2"),
                              try Self.node("n3", cidr: "10.3.0.0/24", address: "198.51.100.3", type: "ExternalIP"),
                              try Self.node("n4", cidr: "10.4.0.0/24", address: "192.0.2.9", annotation: "203.0.113.4")])
        let spec = state.spec()
        #expect(spec.nodes == [NodeSpec(name: "n1", underlay: "192.0.2.1", podCIDR: "10.1.0.0/24"), NodeSpec(name: "n4", underlay: "203.0.113.4", podCIDR: "10.4.0.0/24")])
        #expect(state.excludedByName == ["node n2": "no IPv4 pod CIDR (spec.podCIDRs) yet", "node n3": "no IPv4 InternalIP address"])
        var external = ClusterState(settings: Self.settings, options: .init(nodeAddressType: "ExternalIP"))
        external.replace(nodes: [try Self.node("n3", cidr: "10.3.0.0/24", address: "198.51.100.3", type: "ExternalIP")])
        #expect(external.spec().nodes.map(\.underlay) == ["198.51.100.3"])
        // Two nodes on one underlay: the planner would refuse the whole state; the later is left out.
        var twice = ClusterState(settings: Self.settings)
        twice.replace(nodes: [try Self.node("a", cidr: "10.1.0.0/24"), try Self.node("b", cidr: "10.2.0.0/24")])
        #expect(twice.spec().nodes.map(\.name) == ["a"] && twice.excludedByName["node b"]?.contains("is also node a's") == true)
    }

    @Test("pods: planned with labels and container ports, a scheduled IP-less one without an address; hostNetwork, unscheduled, finished, terminating and misplaced pods are not")
    func pods() throws {
        var state = ClusterState(settings: Self.settings)
        state.replace(nodes: [try Self.node("n1", cidr: "10.1.0.0/24")])
        state.replace(pods: [try Self.pod("x", "a", node: "n1", ip: "10.1.0.10"),
                             try Self.pod("x", "host", node: "n1", ip: "192.0.2.1", hostNetwork: true),
                             try Self.pod("x", "pending", node: nil, ip: nil),
                             try Self.pod("x", "noip", node: "n1", ip: nil),
                             try Self.pod("x", "done", node: "n1", ip: "10.1.0.11", phase: "Succeeded"),
                             try Self.pod("x", "leaving", node: "n1", ip: "10.1.0.12", deleting: true),
                             try Self.pod("x", "outside", node: "n1", ip: "10.9.0.5"),
                             try Self.pod("x", "orphan", node: "n9", ip: "10.1.0.13"),
                             try Self.pod("y", "dup", node: "n1", ip: "10.1.0.10")])
        let spec = state.spec()
        let ports = [ContainerPort(name: "http", containerPort: 8080, .tcp), ContainerPort(containerPort: 53, .udp)]
        #expect(spec.pods == [PodSpec(namespace: "x", name: "a", node: "n1", address: "10.1.0.10", labels: ["app": "web"], ports: ports),
                              PodSpec(namespace: "x", name: "noip", node: "n1", address: "", labels: ["app": "web"], ports: ports)])
        #expect(state.excludedByName == ["pod x/outside": "address 10.9.0.5 is not a pod address of node n1 (10.1.0.0/24)",
                                   "pod x/orphan": "its node n9 is not planned", "pod y/dup": "address 10.1.0.10 is also pod x/a's"])
        #expect(spec.problems().isEmpty)
    }

    @Test("a pod event is one incremental change: in when scheduled, again when it gets its IP, out when it finishes or is deleted, nothing when nothing planned changed")
    func podEvents() throws {
        var state = ClusterState(settings: Self.settings)
        state.replace(nodes: [try Self.node("n1", cidr: "10.1.0.0/24")])
        _ = state.spec()
        let scheduled = state.set(pod: try Self.pod("x", "a", node: "n1", ip: nil), deleted: false)
        #expect(scheduled.count == 1 && { if case .upsert(let pod) = scheduled[0] { pod.address.isEmpty } else { false } }())
        #expect(state.set(pod: try Self.pod("x", "a", node: nil, ip: nil), deleted: false) == [.delete(namespace: "x", name: "a")], "unscheduled again: out")
        let added = state.set(pod: try Self.pod("x", "a", node: "n1", ip: "10.1.0.10"), deleted: false)
        #expect(added.count == 1 && { if case .upsert(let pod) = added[0] { pod.address == "10.1.0.10" } else { false } }())
        #expect(state.set(pod: try Self.pod("x", "a", node: "n1", ip: "10.1.0.10"), deleted: false).isEmpty, "a status heartbeat changes nothing planned")
        let relabelled = state.set(pod: try Self.pod("x", "a", node: "n1", ip: "10.1.0.10", labels: #"{"app": "db"}"#), deleted: false)
        #expect(relabelled.count == 1)
        #expect(state.set(pod: try Self.pod("x", "a", node: "n1", ip: "10.1.0.10", phase: "Failed"), deleted: false) == [.delete(namespace: "x", name: "a")])
        _ = state.set(pod: try Self.pod("x", "b", node: "n1", ip: "10.1.0.11"), deleted: false)
        #expect(state.set(pod: try Self.pod("x", "b", node: "n1", ip: "10.1.0.11"), deleted: true) == [.delete(namespace: "x", name: "b")])
        #expect(state.pods.isEmpty == false && state.planned.isEmpty)
        // The address of a pod that left may be taken by the next one.
        #expect(state.set(pod: try Self.pod("y", "c", node: "n1", ip: "10.1.0.11"), deleted: false).count == 1)
    }

    @Test("a policy this compiler refuses is kept as isolation only: never a policy that opens traffic by being dropped")
    func refusedPolicy() throws {
        var state = ClusterState(settings: Self.settings)
        state.replace(policies: [try Self.decode("""
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "v6", "namespace": "x", "generation": 2},
             "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "2001:db8::/32"}}]}]}}
            """)])
        let spec = state.spec()
        #expect(spec.networkPolicies == [NetworkPolicy(metadata: ObjectReference(namespace: "x", name: "v6"),
                                                      spec: NetworkPolicySpec(podSelector: LabelSelector(matchLabels: ["app": "web"]), policyTypes: [.ingress]))])
        #expect(state.excludedByName["networkpolicy x/v6"]?.hasPrefix("refused, enforced as isolation only: networkPolicies[0].spec.ingress[0].from[0].ipBlock.cidr") == true)
    }

    @Test("kubeconfig: the current context's server, CA and token or client certificate; files relative to it")
    func kubeconfig() throws {
        let dir = temporaryDirectory()
        try Data("CA PEM".utf8).write(to: URL(fileURLWithPath: dir + "/ca.crt"))
        let text = """
            apiVersion: v1
            kind: Config
            current-context: weft
            clusters:
              - name: lab
                cluster: {server: "https://192.0.2.10:6443/", certificate-authority: ca.crt}
            contexts:
              - name: other
                context: {cluster: none, user: none}
              - name: weft
                context: {cluster: lab, user: ctl}
            users:
              - name: ctl
                user: {client-certificate-data: \(Data("CERT".utf8).base64EncodedString()), client-key-data: \(Data("KEY".utf8).base64EncodedString())}
            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/kubeconfig"))
        let endpoint = try KubernetesEndpoint.kubeconfig(dir + "/kubeconfig")
        #expect(endpoint.server == "https://192.0.2.10:6443" && endpoint.caPEM == Array("CA PEM".utf8))
        guard case .clientCertificate(let cert, let key)? = endpoint.credential else { Issue.record("no client certificate"); return }
        #expect(cert == Array("CERT".utf8) && key == Array("KEY".utf8))
        #expect(throws: KubernetesEndpoint.ConfigurationError.self) { try KubernetesEndpoint.kubeconfig(dir + "/missing") }
        #expect(throws: KubernetesEndpoint.ConfigurationError.self) { try KubernetesEndpoint.inCluster(environment: [:]) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/token"))
        try Data("CA".utf8).write(to: URL(fileURLWithPath: dir + "/ca.crt"))
        let pod = try KubernetesEndpoint.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"], directory: dir)
        #expect(pod.server == "https://10.96.0.1:443")
        guard case .token("x")? = pod.credential else { Issue.record("no token"); return }
    }
}
