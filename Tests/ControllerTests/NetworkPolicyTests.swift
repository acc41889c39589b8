import Testing
import WeftAgent
import WeftController
import WeftModel
@testable import WeftPlanner

/// The corners of NetworkPolicy v1 the upstream tables leave out, and the cluster file's
/// form of it: decoding with the API server's defaulting, validation, evaluation, and what
/// the datapath compiler keeps or reports.
@Suite("NetworkPolicy: language, defaulting, validation, evaluation")
struct NetworkPolicyTests {
    static let header = """
        cluster: {name: np, id: np}
        nodes:
          - {name: n1, underlay: 192.0.2.1, podCIDR: 10.1.0.0/24}
          - {name: n2, underlay: 192.0.2.2, podCIDR: 10.2.0.0/24}
        namespaces:
          - {name: shop, labels: {team: blue, env: prod}}
          - {name: lab, labels: {team: red}}
        pods:
          - {namespace: shop, name: web, node: n1, address: 10.1.0.10, labels: {app: web, tier: front},
             ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]}
          - {namespace: shop, name: api, node: n1, address: 10.1.0.11, labels: {app: api},
             ports: [{name: http, containerPort: 9090}]}
          - {namespace: shop, name: cli, node: n2, address: 10.2.0.10, labels: {app: cli}}
          - {namespace: lab, name: cli, node: n2, address: 10.2.0.11, labels: {app: cli}}
          - {namespace: lab, name: probe, node: n2, address: 10.2.0.12, labels: {}}

        """

    static func spec(_ policies: String) throws -> ClusterSpec {
        try ClusterFile.parse(header + "networkPolicies:\n" + policies, name: "np.yaml")
    }

    /// A plan of `spec` with both nodes joined (so both have a desired state).
    static func planner(_ spec: ClusterSpec) throws -> Planner {
        let credentials = Dictionary(uniqueKeysWithValues: ["n1", "n2"].map { ($0, NodeCredentials(keyAgreementPublicKey: "k-\($0)", incarnation: "i")) })
        return try Planner(spec: spec, credentials: credentials)
    }

    static func check(_ spec: ClusterSpec, _ from: String, _ to: String, _ port: UInt16) throws -> PolicyVerdict {
        try check(spec, from, to, .tcp, port)
    }

    static func check(_ spec: ClusterSpec, _ from: String, _ to: String, _ proto: CompiledPolicy.PortProtocol, _ port: UInt16) throws -> PolicyVerdict {
        func endpoint(_ text: String) -> PolicyEvaluator.Endpoint {
            if let address = IPv4(text) { return .address(address) }
            let parts = text.split(separator: "/").map(String.init)
            return .pod(ObjectReference(namespace: parts[0], name: parts[1]))
        }
        return try PolicyEvaluator(spec: spec).verdict(.init(from: endpoint(from), to: endpoint(to), proto: proto, port: port))
    }

    @Test("policyTypes default as the API server's: Ingress always, Egress only with egress rules; protocol TCP")
    func defaulting() throws {
        let spec = try Self.spec("""
              - metadata: {name: in-only, namespace: shop}
                spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}
              - metadata: {name: both, namespace: shop}
                spec: {podSelector: {}, egress: [{to: [{podSelector: {}}]}]}
              - metadata: {name: explicit, namespace: shop}
                spec: {podSelector: {}, policyTypes: [Egress]}
            """)
        #expect(spec.networkPolicies.map(\.spec.policyTypes) == [[.ingress], [.ingress, .egress], [.egress]])
        #expect(spec.networkPolicies[0].spec.ingress[0].ports[0] == NetworkPolicyPort(.tcp, .number(80)))
    }

    @Test("matchExpressions: In, NotIn (true without the key), Exists, DoesNotExist")
    func expressions() {
        let labels = ["app": "web", "tier": "front"]
        func holds(_ op: LabelSelectorRequirement.Operator, _ key: String, _ values: [String] = []) -> Bool {
            LabelSelector(matchExpressions: [LabelSelectorRequirement(key: key, op, values)]).matches(labels)
        }
        #expect(holds(.in, "app", ["web", "api"]) && !holds(.in, "app", ["api"]) && !holds(.in, "zone", ["a"]))
        #expect(holds(.notIn, "app", ["api"]) && !holds(.notIn, "app", ["web"]) && holds(.notIn, "zone", ["a"]))
        #expect(holds(.exists, "tier") && !holds(.exists, "zone"))
        #expect(holds(.doesNotExist, "zone") && !holds(.doesNotExist, "tier"))
        #expect(LabelSelector.everything.matches([:]))
        let both = LabelSelector(matchLabels: ["app": "web"], matchExpressions: [LabelSelectorRequirement(key: "tier", .notIn, ["front"])])
        #expect(!both.matches(labels), "matchLabels and matchExpressions must all hold")
    }

    @Test("pod and namespace selector in one peer is AND; in two peers, OR")
    func peerConjunction() throws {
        let and = try Self.spec("""
              - metadata: {name: and, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}, podSelector: {matchLabels: {app: cli}}}]}]
            """)
        #expect(try Self.check(and, "lab/cli", "shop/web", 8080).allowed)
        #expect(try !Self.check(and, "lab/probe", "shop/web", 8080).allowed, "in the namespace but not the pod selector")
        #expect(try !Self.check(and, "shop/cli", "shop/web", 8080).allowed, "the pod selector but not the namespace")
        let or = try Self.spec("""
              - metadata: {name: or, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}, {podSelector: {matchLabels: {app: cli}}}]}]
            """)
        #expect(try Self.check(or, "lab/probe", "shop/web", 8080).allowed)
        #expect(try Self.check(or, "shop/cli", "shop/web", 8080).allowed)
        #expect(try !Self.check(or, "shop/api", "shop/web", 8080).allowed)
        // A pod selector alone means the policy's own namespace; the name label is always there.
        let named = try Self.spec("""
              - metadata: {name: by-name, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: lab}}}]}]
            """)
        #expect(try Self.check(named, "lab/probe", "shop/web", 1).allowed && !Self.check(named, "shop/cli", "shop/web", 1).allowed)
    }

    @Test("ipBlock with except: pod addresses inside the cluster and addresses outside it")
    func ipBlock() throws {
        let spec = try Self.spec("""
              - metadata: {name: block, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{ipBlock: {cidr: 10.2.0.0/24, except: [10.2.0.12/32]}}, {ipBlock: {cidr: 198.51.100.0/24}}]}]
              - metadata: {name: out, namespace: lab}
                spec:
                  podSelector: {matchLabels: {app: cli}}
                  egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]}]
            """)
        #expect(try Self.check(spec, "shop/cli", "shop/web", 80).allowed, "a pod whose address is in the block")
        #expect(try !Self.check(spec, "lab/probe", "shop/web", 80).allowed, "the excepted pod")
        #expect(try Self.check(spec, "198.51.100.7", "shop/web", 80).allowed, "an outside address")
        #expect(try !Self.check(spec, "192.0.2.99", "shop/web", 80).allowed)
        #expect(try Self.check(spec, "10.1.0.11", "shop/web", 80).ingress.isolated, "an address that is a pod is that pod")
        #expect(try Self.check(spec, "lab/cli", "203.0.113.5", .udp, 53).allowed)
        #expect(try !Self.check(spec, "lab/cli", "203.0.113.200", .udp, 53).allowed)
        #expect(try !Self.check(spec, "lab/cli", "shop/web", 80).allowed, "lab/cli's egress is isolated to the block")
        #expect(try Self.check(spec, "lab/cli", "shop/web", 80).egress.reason == "egress from lab/cli: isolated by lab/out; no rule admits it")
    }

    @Test("a named port means each destination pod's own number, by name and protocol")
    func namedPorts() throws {
        let spec = try Self.spec("""
              - metadata: {name: http, namespace: shop}
                spec: {podSelector: {}, ingress: [{ports: [{port: http}, {port: dns, protocol: UDP}]}]}
            """)
        #expect(try Self.check(spec, "lab/cli", "shop/web", 8080).allowed && !Self.check(spec, "lab/cli", "shop/web", 9090).allowed)
        #expect(try Self.check(spec, "lab/cli", "shop/api", 9090).allowed && !Self.check(spec, "lab/cli", "shop/api", 8080).allowed)
        #expect(try Self.check(spec, "lab/cli", "shop/web", .udp, 53).allowed && !Self.check(spec, "lab/cli", "shop/web", .tcp, 53).allowed)
        #expect(try !Self.check(spec, "lab/cli", "shop/cli", 8080).allowed, "a pod without the port name admits nothing by it")
    }

    @Test("endPort ranges, protocols kept distinct, and the reasons a verdict gives")
    func rangesAndReasons() throws {
        let spec = try Self.spec("""
              - metadata: {name: range, namespace: shop}
                spec: {podSelector: {matchLabels: {app: api}}, ingress: [{ports: [{port: 9000, endPort: 9100}, {port: 7000, protocol: SCTP}]}]}
            """)
        #expect(try Self.check(spec, "lab/cli", "shop/api", 9000).allowed && Self.check(spec, "lab/cli", "shop/api", 9100).allowed)
        #expect(try !Self.check(spec, "lab/cli", "shop/api", 9101).allowed && !Self.check(spec, "lab/cli", "shop/api", .udp, 9050).allowed)
        #expect(try Self.check(spec, "lab/cli", "shop/api", .sctp, 7000).allowed && !Self.check(spec, "lab/cli", "shop/api", .tcp, 7000).allowed)
        let allowed = try Self.check(spec, "lab/cli", "shop/api", 9050)
        #expect(allowed.description == "allow: egress from lab/cli: not isolated; ingress to shop/api: allowed by shop/range ingress[0]")
        let denied = try Self.check(spec, "lab/cli", "shop/api", 22)
        #expect(denied.description == "deny: egress from lab/cli: not isolated; ingress to shop/api: isolated by shop/range; no rule admits it")
        #expect(throws: PolicyEvaluator.UnknownPod.self) { try Self.check(spec, "lab/nobody", "shop/api", 1) }
    }

    @Test("malformed policies are refused with the field and the reason, as an API server would")
    func validation() {
        let cases: [(String, String)] = [
            ("{podSelector: {matchExpressions: [{key: app, operator: In}]}}", "spec.podSelector.matchExpressions[0].values: In needs at least one value"),
            ("{podSelector: {matchExpressions: [{key: app, operator: Exists, values: [x]}]}}", "spec.podSelector.matchExpressions[0].values: Exists takes no values"),
            ("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}", "spec.ingress[0].from[0]: ipBlock may not be combined with podSelector or namespaceSelector"),
            ("{podSelector: {}, ingress: [{from: [{}]}]}", "spec.ingress[0].from[0]: must name a podSelector, a namespaceSelector or an ipBlock"),
            ("{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]}", "spec.egress[0].to[0].ipBlock.except[0]: 10.1.0.0/24 must be a strict subset of 10.0.0.0/16"),
            ("{podSelector: {}, egress: [{to: [{ipBlock: {cidr: \"2001:db8::/32\"}}]}]}", "spec.egress[0].to[0].ipBlock.cidr: \"2001:db8::/32\" IPv6 blocks are not supported yet (Weft's pod network is IPv4)"),
            ("{podSelector: {}, ingress: [{ports: [{port: http, endPort: 90}]}]}", "spec.ingress[0].ports[0].endPort: may not be used with a named port"),
            ("{podSelector: {}, ingress: [{ports: [{port: 90, endPort: 80}]}]}", "spec.ingress[0].ports[0].endPort: 80 is not in 90-65535 (it must not be below port)"),
            ("{podSelector: {}, ingress: [{ports: [{port: 0}]}]}", "spec.ingress[0].ports[0].port: 0 is not in 1-65535"),
            ("{podSelector: {}, ingress: [{ports: [{port: \"80\"}]}]}", "spec.ingress[0].ports[0].port: \"80\" is not a port name (IANA_SVC_NAME: 1-15 of a-z, 0-9, '-', with a letter)"),
            ("{podSelector: {matchLabels: {\"bad key!\": x}}}", "spec.podSelector.matchLabels: \"bad key!\" is not a label key"),
        ]
        for (policy, expected) in cases {
            let text = Self.header + "networkPolicies:\n  - metadata: {name: p, namespace: shop}\n    spec: \(policy)\n"
            do {
                _ = try ClusterFile.parse(text, name: "np.yaml")
                Issue.record("accepted: \(policy)")
            } catch {
                #expect(error.problems.count == 1 && error.problems[0].hasSuffix("networkPolicies[0].\(expected)"), "\(policy): \(error.problems)")
            }
        }
        let unknown = Self.header + "networkPolicies:\n  - metadata: {name: p, namespace: shop}\n    spec: {podSelector: {matchExpressions: [{key: a, operator: Near}]}}\n"
        #expect(throws: ClusterFile.Error.self) { try ClusterFile.parse(unknown, name: "np.yaml") }
        do { _ = try ClusterFile.parse(unknown, name: "np.yaml") } catch { #expect(error.description.contains("\"Near\" is not In, NotIn, Exists or DoesNotExist"), "\(error)") }
        let twice = Self.header + "networkPolicies:\n  - metadata: {name: p, namespace: shop}\n    spec: {}\n  - metadata: {name: p, namespace: shop}\n    spec: {}\n"
        do { _ = try ClusterFile.parse(twice, name: "np.yaml"); Issue.record("a duplicate was accepted") } catch {
            #expect(error.problems.contains { $0.hasSuffix("networkPolicies[1].metadata.name: policy shop/p appears twice") }, "\(error.problems)")
        }
    }

    @Test("a spec that skipped validation compiles to rules that match nothing, never to a crash")
    func unvalidated() throws {
        var spec = try ClusterFile.parse(Self.header, name: "np.yaml")
        let bad = NetworkPolicySpec(podSelector: LabelSelector(matchLabels: ["app": "web"]), ingress: [
            NetworkPolicyIngressRule(from: [NetworkPolicyPeer(ipBlock: IPBlock(cidr: "not-a-cidr", except: ["nor/this"]))]),
            NetworkPolicyIngressRule(ports: [NetworkPolicyPort(.tcp, .number(70_000)), NetworkPolicyPort(.tcp, .number(90), endPort: 80),
                                             NetworkPolicyPort(.tcp, .number(-1)),
                                             NetworkPolicyPort(.udp, .number(66_654), endPort: 60)]),  // the fuzzer's: it trapped
        ])
        spec.networkPolicies = [NetworkPolicy(metadata: ObjectReference(namespace: "shop", name: "bad"), spec: bad)]
        #expect(!spec.problems().isEmpty)
        let verdict = try PolicyEvaluator(spec: spec).verdict(.init(from: .pod(ObjectReference(namespace: "lab", name: "cli")),
                                                                    to: .pod(ObjectReference(namespace: "shop", name: "web")), proto: .tcp, port: 85))
        #expect(!verdict.allowed && verdict.ingress.isolatedBy == ["shop/bad"])
        #expect(UnenforcedPolicyPart.all(in: spec).isEmpty)
    }

    @Test("the datapath gets what it can enforce as identity rules; the rest is named, never silent")
    func datapathCompile() throws {
        let spec = try Self.spec("""
              - metadata: {name: web, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress:
                    - from: [{namespaceSelector: {matchLabels: {team: red}}, podSelector: {matchLabels: {app: cli}}}]
                      ports: [{port: 80}, {port: 8000, endPort: 8001}, {port: http}]
                    - ports: [{port: 443}]
                    - from: [{ipBlock: {cidr: 198.51.100.0/24}}]
                  egress: [{}]
            """)
        let planner = try Self.planner(spec)
        #expect(planner.unenforcedPolicy.isEmpty)
        let web = try #require(planner.identity(of: spec.pods[0])), labCli = try #require(planner.identity(of: spec.pods[3]))
        let n1 = try #require(planner.desiredState(for: "n1"))
        let rules = Set(n1.policy)
        let toWeb = rules.filter { $0.destination == web }
        let block = CIDRIdentities.first
        #expect(toWeb == [
            PolicyRule(source: labCli, destination: web, proto: "tcp", port: 80),
            PolicyRule(source: labCli, destination: web, proto: "tcp", port: 8000, portEnd: 8001),
            PolicyRule(source: labCli, destination: web, proto: "tcp", port: 8080),  // http, web's own
            PolicyRule(source: PolicyRule.anySource, destination: web, proto: "tcp", port: 443),
            PolicyRule(source: block, destination: web, proto: "any", port: 0),
        ])
        #expect(n1.cidrs == [IPCacheEntry(cidr: "198.51.100.0/24", identity: block)])
        // shop/cli matches the pod selector but not the namespace: it is not a source.
        let shopCli = try #require(planner.identity(of: spec.pods[2]))
        #expect(!rules.contains { $0.source == shopCli })
        // egress: [{}] lets web send anything to anyone; api (no egress policy) too.
        let api = try #require(planner.identity(of: spec.pods[1]))
        #expect(planner.desiredState(for: "n1")?.egressPolicy == [
            PolicyRule(source: web, destination: PolicyRule.anySource, proto: "any", port: 0),
            PolicyRule(source: api, destination: PolicyRule.anySource, proto: "any", port: 0),
            .enforced,  // the node enforces egress (a marker no filter meets)
        ].sorted { $0.source < $1.source })
    }

    @Test("egress: the selected pod's rules name the destinations its `to` admits, the ipcache holds them; a node without an egress-isolated pod gets none")
    func egressCompile() throws {
        let spec = try Self.spec("""
              - metadata: {name: web-out, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  policyTypes: [Egress]
                  egress:
                    - to: [{namespaceSelector: {matchLabels: {team: red}}, podSelector: {matchLabels: {app: cli}}}]
                      ports: [{port: 53, protocol: UDP}]
                    - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
            """)
        let planner = try Self.planner(spec)
        let web = try #require(planner.identity(of: spec.pods[0])), api = try #require(planner.identity(of: spec.pods[1]))
        let labCli = try #require(planner.identity(of: spec.pods[3]))
        let n1 = try #require(planner.desiredState(for: "n1"))
        #expect(Set(n1.egressPolicy ?? []) == [
            PolicyRule(source: web, destination: labCli, proto: "udp", port: 53),
            PolicyRule(source: web, destination: CIDRIdentities.first, proto: "any", port: 0),
            PolicyRule(source: api, destination: PolicyRule.anySource, proto: "any", port: 0),
            .enforced,
        ])
        #expect(n1.cidrs == [IPCacheEntry(cidr: "203.0.113.0/24", identity: CIDRIdentities.first)])
        #expect(n1.ipcache.contains(IPCacheEntry(cidr: "10.2.0.11/32", identity: labCli)), "the destination's pods are in n1's ipcache")
        #expect(n1.policy.isEmpty, "no ingress isolation anywhere")
        #expect(planner.desiredState(for: "n2")?.egressPolicy == nil)
        #expect(planner.desiredState(for: "n2")?.cidrs == nil, "no rule of n2 names a block")
        #expect(planner.unenforcedPolicy.isEmpty)
        // weftctl policy check judges the same way.
        let verdict = try Self.check(spec, "shop/web", "lab/cli", .udp, 53)
        #expect(verdict.allowed)
        #expect(try !Self.check(spec, "shop/web", "lab/probe", .udp, 53).allowed)
    }

    @Test("ipBlock: each prefix a CIDR identity; a block admits those inside it and outside its excepts, by longest prefix, as the evaluator judges")
    func cidrIdentities() throws {
        let spec = try Self.spec("""
              - metadata: {name: web, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress:
                    - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.2.0.0/16]}}]
                      ports: [{port: 1000, endPort: 65535}, {protocol: SCTP, port: 9}]
                    - from: [{ipBlock: {cidr: 10.2.0.8/29}}]
            """)
        let table = CIDRIdentities(CompiledPolicy.all(in: spec))
        let ids = table.entries.map(\.identity)
        #expect(table.entries.map(\.cidr) == ["10.0.0.0/8", "10.2.0.0/16", "10.2.0.8/29"])
        #expect(ids == [CIDRIdentities.first, CIDRIdentities.first + 1, CIDRIdentities.first + 2])
        let block = try #require(IPv4Prefix("10.0.0.0/8")), except = try #require(IPv4Prefix("10.2.0.0/16"))
        #expect(table.admitted(by: block, except: [except]) == [ids[0]], "the except and the /29 inside it stay out")
        #expect(table.admitted(by: block, except: []) == ids, "without the except every prefix inside is in")
        let planner = try Self.planner(spec)
        #expect(planner.unenforcedPolicy.isEmpty, "ranges of any width and SCTP are enforced")
        let web = try #require(planner.identity(of: spec.pods[0]))
        let n1 = try #require(planner.desiredState(for: "n1"))
        #expect(Set(n1.policy.filter { $0.destination == web }) == [
            PolicyRule(source: ids[0], destination: web, proto: "tcp", port: 1000, portEnd: 65535),
            PolicyRule(source: ids[0], destination: web, proto: "sctp", port: 9),
            PolicyRule(source: ids[2], destination: web, proto: "any", port: 0),
        ])
        #expect(n1.cidrs?.count == 3, "the except travels too: it keeps its addresses out of the /8")
        // The evaluator agrees: lab/cli (10.2.0.11) is in the /29, shop/cli (10.2.0.10) too,
        // 10.2.0.20 is in the except only, 10.1.0.11 (api) in the /8 only.
        #expect(try Self.check(spec, "lab/cli", "shop/web", .udp, 7).allowed)
        #expect(try !Self.check(spec, "10.2.0.20", "shop/web", 2000).allowed)
        #expect(try Self.check(spec, "shop/api", "shop/web", 2000).allowed)
        #expect(try !Self.check(spec, "shop/api", "shop/web", 999).allowed)
        #expect(try Self.check(spec, "shop/api", "shop/web", .sctp, 9).allowed)
    }

    @Test("named ports: resolved at each destination identity where all its pods agree; egress to anyone reaches every identity that names it, and its pods enter the ipcache")
    func namedPortsCompile() throws {
        var spec = try Self.spec("""
              - metadata: {name: web-in, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{namespaceSelector: {}}], ports: [{port: http}, {port: dns, protocol: UDP}, {port: dns}]}]
              - metadata: {name: web-out, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  policyTypes: [Egress]
                  egress: [{ports: [{port: http}]}]
            """)
        spec.pods.append(PodSpec(namespace: "lab", name: "srv", node: "n2", address: "10.2.0.20", labels: ["app": "srv"],
                                 ports: [ContainerPort(name: "http", containerPort: 8000)]))
        var planner = try Self.planner(spec)
        #expect(planner.unenforcedPolicy.isEmpty)
        let web = try #require(planner.identity(of: spec.pods[0])), api = try #require(planner.identity(of: spec.pods[1]))
        let srv = try #require(planner.identity(of: spec.pods[5]))
        func toWeb() throws -> Set<PolicyRule> { Set(try #require(planner.desiredState(for: "n1")).policy.filter { $0.destination == web }) }
        // web names http 8080 and dns 53/UDP: dns over TCP resolves to nothing.
        let cli = Set(spec.pods.compactMap { planner.identity(of: $0) }).sorted()  // every pod: namespaceSelector {}
        #expect(try toWeb() == Set(cli.flatMap { [PolicyRule(source: $0, destination: web, proto: "tcp", port: 8080),
                                                  PolicyRule(source: $0, destination: web, proto: "udp", port: 53)] }))
        let n1 = try #require(planner.desiredState(for: "n1"))
        #expect(Set(n1.egressPolicy ?? []).isSuperset(of: [PolicyRule(source: web, destination: web, proto: "tcp", port: 8080),
                                                            PolicyRule(source: web, destination: api, proto: "tcp", port: 9090),
                                                            PolicyRule(source: web, destination: srv, proto: "tcp", port: 8000)]))
        #expect(n1.ipcache.contains(IPCacheEntry(cidr: "10.2.0.20/32", identity: srv)), "srv's pod, a destination by name, is resolvable on n1")
        // A second web pod that gives http another number: the pods disagree, http admits nothing.
        var twin = spec.pods[0]
        twin.name = "web-2"; twin.address = "10.1.0.20"; twin.ports = [ContainerPort(name: "http", containerPort: 8081), ContainerPort(name: "dns", containerPort: 53, .udp)]
        let changed = try planner.apply([.upsert(twin)])
        #expect(changed.contains("n1"))
        #expect(try toWeb() == Set(cli.map { PolicyRule(source: $0, destination: web, proto: "udp", port: 53) }))
        _ = try planner.apply([.delete(namespace: "shop", name: "web-2")])
        #expect(try toWeb().contains(PolicyRule(source: cli[0], destination: web, proto: "tcp", port: 8080)), "agreement again: 8080 is back")
    }

    @Test("a scheduled pod without an address: its node knows its identity and enforces its policy; no ipcache has it until its address comes")
    func scheduledPod() throws {
        var spec = try Self.spec("""
              - metadata: {name: web-in, namespace: shop}
                spec:
                  podSelector: {matchLabels: {app: web}}
                  ingress: [{from: [{podSelector: {matchLabels: {app: cli}}}]}]
            """)
        spec.pods.removeAll { $0.name == "web" }
        var planner = try Self.planner(spec)
        #expect(planner.desiredState(for: "n1")?.policy.isEmpty == true, "nothing on n1 is isolated yet")
        let web = PodSpec(namespace: "shop", name: "web", node: "n1", address: "", labels: ["app": "web", "tier": "front"])
        #expect(try planner.apply([.upsert(web)]) == ["n1"], "n1 gets the pod; n2 (its sources' node) nothing, no ipcache entry to add")
        let identity = try #require(planner.identity(of: web))
        let n1 = try #require(planner.desiredState(for: "n1"))
        #expect(n1.podIdentities?["shop/web"] == identity && n1.podIdentities?["shop/api"] != nil)
        #expect(n1.policy.contains { $0.destination == identity }, "n1 enforces web's policy before web has an address")
        #expect(!n1.ipcache.contains { $0.identity == identity })
        #expect(planner.desiredState(for: "n2")?.podIdentities?["shop/web"] == nil)
        var started = web
        started.address = "10.1.0.10"
        let before = try #require(planner.desiredState(for: "n1"))
        _ = try planner.apply([.upsert(started)])
        let after = try #require(planner.desiredState(for: "n1"))
        #expect(after.ipcache.contains(IPCacheEntry(cidr: "10.1.0.10/32", identity: identity)) && after.podIdentities == before.podIdentities)
        #expect(try before.applying(DesiredStateDelta(from: before, to: after)) == after)
    }

    @Test("default deny with every local pod selected: the node still enforces (the marker rule), though no rule admits anything")
    func defaultDenyEverywhere() throws {
        var spec = try Self.spec("""
              - metadata: {name: deny-all, namespace: shop}
                spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
            """)
        spec.pods.removeAll { $0.namespace != "shop" || $0.node != "n1" }
        let n1 = try #require(try Self.planner(spec).desiredState(for: "n1"))
        #expect(n1.policy == [.enforced] && n1.egressPolicy == [.enforced])
        let maps = try TrustMapContents(n1).maps
        #expect(maps["weft_config"]?.values.first?.suffix(4) == [7, 0, 0, 0], "ENFORCE_POLICY, ALLOW_REPLIES, ENFORCE_EGRESS")
    }
}
