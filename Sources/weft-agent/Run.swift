import Logging
import WeftAgentDaemon

/// `weft-agent run`: the daemon until SIGTERM or SIGINT, which leave the datapath in place.
func run(_ options: Options) async throws {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: "weft-agent")
    logger[metadataKey: "netns"] = "\(options.configuration.namespace ?? "-")"
    let daemon = try await AgentDaemon.make(options.configuration, logger: logger, signals: [.sigterm, .sigint])
    try await daemon.run()
}
