import ArgumentParser
import Logging
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

    func validate() throws {
        guard resync > 0, resync < 86_400 else { throw ValidationError("--resync takes seconds > 0 (and under a day)") }
        guard metricsPort > 0 else { throw ValidationError("--metrics-port takes 1-65535") }
        _ = try source()
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
        unblockStopSignals()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "weft-agent")
        logger[metadataKey: "netns"] = "\(configuration.namespace ?? "-")"
        let daemon = try await AgentDaemon.make(configuration, logger: logger, signals: [.sigterm, .sigint])
        try await daemon.run()
    }
}
