import ArgumentParser

/// `weft-controller run`'s options.
struct ControllerOptions: ParsableArguments {
    enum Source: String, ExpressibleByArgument, CaseIterable { case file, kubernetes }

    @Option(help: ArgumentHelp("The cluster file (YAML, docs/cluster-file.md); watched, a valid change is planned and pushed. With --source kubernetes it holds only the cluster and encryption settings.", valueName: "FILE"))
    var cluster: String

    @Option(help: ArgumentHelp("Where nodes, pods, namespaces and NetworkPolicies come from: the cluster file, or the Kubernetes API.", valueName: "file|kubernetes"))
    var source: Source = .file

    @Option(help: ArgumentHelp("With --source kubernetes: a kubeconfig (token or client certificate); without it, the pod's service account (in-cluster).", valueName: "FILE"))
    var kubeconfig: String?

    @Option(name: .customLong("node-address-type"), help: ArgumentHelp("With --source kubernetes: the Node address that is its underlay (the weft.dev/underlay-address annotation overrides it).", valueName: "InternalIP|ExternalIP"))
    var nodeAddressType = "InternalIP"

    @Option(name: .customLong("agent-service-account"), help: ArgumentHelp("With --source kubernetes: agents may join with a projected token of this service account, bound to a pod on the node they name.", valueName: "NAMESPACE/NAME"))
    var agentServiceAccount = "weft-system/weft-agent"

    @Option(name: .customLong("join-audience"), help: ArgumentHelp("With --source kubernetes: the audience agents' service-account tokens must carry.", valueName: "AUDIENCE"))
    var joinAudience = "weft"

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("CA, tokens, audit log, allocations.", valueName: "DIR"))
    var stateDirectory = "/var/lib/weft-controller"

    @Option(help: ArgumentHelp("The node listener (mTLS): watch, ack, renew.", valueName: "HOST:PORT"))
    var listen = "0.0.0.0:7443"

    @Option(name: .customLong("join-listen"), help: ArgumentHelp("The join listener (TLS; a token proves the node).", valueName: "HOST:PORT"))
    var joinListen = "0.0.0.0:7444"

    @Option(help: ArgumentHelp("Addresses and DNS names agents dial, comma-separated (they go into the server certificate).", valueName: "IP|NAME[,...]"))
    var advertise = "127.0.0.1"

    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp("/metrics and /healthz.", valueName: "HOST:PORT"))
    var metricsListen = "0.0.0.0:9465"

    @Option(name: .customLong("admin-socket"), help: ArgumentHelp("The operator's Unix socket for weftctl status | revoke | rotate | token (default STATE_DIR/admin/admin.sock, 0600 in a 0700 directory).", valueName: "PATH"))
    var adminSocket: String?

    func validate() throws {
        for (flag, text) in [("--listen", listen), ("--join-listen", joinListen), ("--metrics-listen", metricsListen)] {
            _ = try Self.endpoint(flag, text)
        }
        guard !advertise.split(separator: ",").isEmpty else { throw ValidationError("--advertise needs at least one address or name") }
        guard ["InternalIP", "ExternalIP"].contains(nodeAddressType) else { throw ValidationError("--node-address-type is InternalIP or ExternalIP, not \"\(nodeAddressType)\"") }
        if source == .file && kubeconfig != nil { throw ValidationError("--kubeconfig needs --source kubernetes") }
        let account = agentServiceAccount.split(separator: "/", omittingEmptySubsequences: false)
        guard account.count == 2, account.allSatisfy({ !$0.isEmpty && $0.count <= 253 }) else {
            throw ValidationError("--agent-service-account is NAMESPACE/NAME, not \"\(agentServiceAccount)\"")
        }
        guard !joinAudience.isEmpty, joinAudience.utf8.count <= 256 else { throw ValidationError("--join-audience takes 1-256 bytes") }
    }

    var listenEndpoint: (host: String, port: Int) { try! Self.endpoint("--listen", listen) }
    var joinListenEndpoint: (host: String, port: Int) { try! Self.endpoint("--join-listen", joinListen) }
    var metricsEndpoint: (host: String, port: Int) { try! Self.endpoint("--metrics-listen", metricsListen) }

    var advertised: [String] { advertise.split(separator: ",").map(String.init) }
    /// --advertise entries that are IPv4 addresses (certificate IP SANs) and names (DNS SANs).
    var advertisedAddresses: [String] { advertised.filter(Self.isIPv4) }
    var advertisedNames: [String] { ["weft-controller", "localhost"] + advertised.filter { !Self.isIPv4($0) } }
    var adminSocketPath: String { adminSocket ?? stateDirectory + "/admin/admin.sock" }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    static func endpoint(_ flag: String, _ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw ValidationError("\(flag) takes HOST:PORT, not \"\(text)\"")
        }
        return (String(text[..<colon]), port)
    }
}
