import ArgumentParser
import Logging
import Netlink
import WeftAgentDaemon
import WeftMetrics

/// `weft-agent run`: the daemon until SIGTERM or SIGINT, which leave the datapath in place.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep the kernel reconciled to the desired state.",
        discussion: """
            Reconciles on a change of the desired state (the file, or the controller's stream), on \
            netlink events (someone deleted a Weft object), on a hard SA expiry and every --resync \
            seconds; failed changes are retried with backoff. SIGTERM/SIGINT stop it and leave the \
            datapath in place. /metrics (Prometheus) and /healthz are served on 127.0.0.1:--metrics-port.
            """)

    @OptionGroup var common: NodeOptions

    @Option(help: ArgumentHelp("Seconds between whole-state reconciles when nothing wakes the loop (under a day).", valueName: "SECONDS"))
    var resync: Double = 30

    @Option(name: .customLong("metrics-port"), help: ArgumentHelp("Port for /metrics and /healthz on 127.0.0.1.", valueName: "PORT"))
    var metricsPort: UInt16 = 9464

    @Option(help: ArgumentHelp("The controller's node listener: take the desired state from it instead of --desired.", valueName: "HOST:PORT"))
    var controller: String?

    @Option(help: ArgumentHelp("The controller's join listener (default: the --controller host, port 7444).", valueName: "HOST:PORT"))
    var join: String?

    @Option(help: ArgumentHelp("Join token (first start only; --token-file keeps it out of the process list).", valueName: "TOKEN"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("File holding the join token (a mounted Secret).", valueName: "FILE"))
    var tokenFile: String?

    @Option(name: .customLong("ca"), help: ArgumentHelp("The cluster CA certificate to trust (PEM).", valueName: "FILE"))
    var caFile: String?

    @Option(name: .customLong("node"), help: ArgumentHelp("This node's name (its certificate's subject).", valueName: "NAME"))
    var nodeName: String?

    @Option(name: .customLong("cni-socket"), help: ArgumentHelp("Serve weft-cni on this Unix socket (the DaemonSet uses /run/weft/cni.sock); pod addresses are recorded under --state-dir/ipam.", valueName: "PATH"))
    var cniSocket: String?

    @Option(name: .customLong("cni-identity-wait"), help: ArgumentHelp("How long a weft-cni ADD waits for the controller to name the new pod's identity before it fails (the runtime retries).", valueName: "SECONDS"))
    var cniIdentityWait: Double = 10

    @Option(name: .customLong("cni-conf-dir"), help: ArgumentHelp("With --cni-socket: install weft-cni's conflist here once the agent serves (the node's /etc/cni/net.d); removed on shutdown.", valueName: "DIR"))
    var cniConfDirectory: String?

    @Option(name: .customLong("cni-bin-dir"), help: ArgumentHelp("With --cni-conf-dir: copy weft-cni here (the node's /opt/cni/bin).", valueName: "DIR"))
    var cniBinDirectory: String?

    @Option(name: .customLong("cni-plugin"), help: ArgumentHelp("The weft-cni executable to install (default: next to weft-agent).", valueName: "FILE"))
    var cniPlugin: String?

    @Option(name: .customLong("cni-routes"), help: ArgumentHelp("Comma-separated IPv4 prefixes pods route through their gateway (default 0.0.0.0/0).", valueName: "PREFIXES"))
    var cniRoutes: String?

    func validate() throws {
        guard resync > 0, resync < 86_400 else { throw ValidationError("--resync takes seconds > 0 (and under a day)") }
        guard cniIdentityWait >= 0, cniIdentityWait <= 600 else { throw ValidationError("--cni-identity-wait takes 0 to 600 seconds") }
        guard metricsPort > 0 else { throw ValidationError("--metrics-port takes 1-65535") }
        if let cniSocket, !cniSocket.hasPrefix("/") || cniSocket.utf8.count >= 108 {
            throw ValidationError("--cni-socket takes an absolute path shorter than 108 bytes")
        }
        _ = try cniInstall()
        _ = try source()
    }

    /// The CNI install, the flags' rules checked.
    func cniInstall() throws -> CNIInstall? {
        guard let cniConfDirectory else {
            guard cniBinDirectory == nil, cniPlugin == nil, cniRoutes == nil else {
                throw ValidationError("--cni-bin-dir, --cni-plugin and --cni-routes go with --cni-conf-dir")
            }
            return nil
        }
        guard cniSocket != nil, let cniBinDirectory else { throw ValidationError("--cni-conf-dir needs --cni-socket and --cni-bin-dir") }
        let routes = try cniRoutes.map { list in
            try list.split(separator: ",").map { text -> IPPrefix in
                guard let prefix = IPPrefix(String(text)), prefix.address.family == .inet, prefix == prefix.masked else {
                    throw ValidationError("--cni-routes: \"\(text)\" is not an IPv4 prefix like 10.0.0.0/8")
                }
                return prefix
            }
        }
        return CNIInstall(confDirectory: cniConfDirectory, binDirectory: cniBinDirectory, plugin: cniPlugin, routes: routes)
    }

    /// Where the desired state comes from, the flags' rules checked.
    func source() throws -> AgentConfiguration.Source {
        guard let controller else {
            guard let desired = common.desired else { throw ValidationError("--desired FILE (or --controller HOST:PORT) is required") }
            guard join == nil, token == nil, tokenFile == nil, caFile == nil, nodeName == nil else {
                throw ValidationError("--join, --token, --token-file, --ca and --node go with --controller")
            }
            return .file(path: desired, keyFile: common.key)
        }
        guard common.desired == nil, common.key == nil else {
            throw ValidationError("--controller replaces --desired and --key (both come from the controller and the state directory)")
        }
        guard let nodeName, let caFile else { throw ValidationError("--controller needs --node NAME and --ca CA.crt") }
        do {
            let endpoint = try Endpoint(parsing: controller, flag: "--controller")
            let joinEndpoint = try join.map { try Endpoint(parsing: $0, flag: "--join") }
            return .controller(.init(endpoint: endpoint, joinEndpoint: joinEndpoint, nodeName: nodeName, caFile: caFile,
                                     token: token, tokenFile: tokenFile))
        } catch let error as DaemonError {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        var configuration = common.configuration(source: try source())
        configuration.resync = .milliseconds(Int64(resync * 1000))
        configuration.metricsPort = metricsPort
        configuration.cniSocket = cniSocket
        configuration.cniIdentityWait = .milliseconds(Int64(cniIdentityWait * 1000))
        configuration.cniInstall = try cniInstall()
        unblockStopSignals()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "weft-agent")
        logger[metadataKey: "netns"] = "\(configuration.namespace ?? "-")"
        let daemon = try await AgentDaemon.make(configuration, logger: logger, signals: [.sigterm, .sigint])
        try await daemon.run()
    }
}
