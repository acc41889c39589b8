// weft-controller: plans every node's desired state from the cluster file and streams it
// to the agents over mTLS (docs/control-api.md).
//
//   weft-controller run --cluster FILE [--state-dir DIR] [--listen HOST:PORT] [--join-listen HOST:PORT]
//                       [--advertise IP|NAME[,...]] [--metrics-listen HOST:PORT] [--admin-socket PATH]
//
// --advertise: the addresses and DNS names agents dial (they go into the server
// certificate). /metrics and /healthz on --metrics-listen (0.0.0.0:9465). The operator's
// calls (weftctl status | revoke | rotate) on --admin-socket (STATE_DIR/admin/admin.sock,
// a Unix socket, mode 0600 in a 0700 directory).
//
// State (CA, tokens, audit log, allocations) lives in --state-dir (/var/lib/weft-controller).
// The cluster file is watched: a valid change is planned and pushed as deltas; an invalid
// one is logged with every problem and its line, and the previous state stays in force.
// SIGTERM/SIGINT: stop serving, sign the audit log's tail, exit 0.
import Foundation
import Logging
import ServiceLifecycle
import WeftController
import WeftFiles
import WeftMetrics
import WeftModel

/// The cluster file, or, when it is refused, the last spec this controller planned (kept
/// in the state directory): a file caught half-edited must not keep the controller down.
func startingSpec(_ options: ControllerOptions, _ logger: Logger) throws -> ClusterSpec {
    do {
        return try ClusterFile.load(options.cluster)
    } catch {
        guard let last = try ControlPlane.lastGoodSpec(in: options.stateDirectory) else { throw error }
        logger.error("cluster file refused; starting from the last good cluster spec until it is fixed",
                     metadata: ["problems": "\(error)", "last_good": "\(options.stateDirectory)/cluster.last-good.json"])
        return last
    }
}

/// Every connection, file and socket is a descriptor: take the whole hard limit the
/// process may have, so the listeners' connection limits, not the descriptor table, are
/// what refuses a flood.
func raiseDescriptorLimit(_ logger: Logger) {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) != 0 { logger.warning("cannot raise the descriptor limit", metadata: ["error": "\(errnoText())"]) }
}

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("weft-controller: \(message)\n".utf8))
    exit(status)
}

let usage = "usage: weft-controller run --cluster FILE [--state-dir DIR] [--listen HOST:PORT] [--join-listen HOST:PORT] [--advertise IP|NAME,...]\n       [--metrics-listen HOST:PORT] [--admin-socket PATH]"
// A supervisor may have blocked SIGTERM/SIGINT before starting us (the mask is
// inherited): unblock them, or a graceful stop would never be noticed.
var unblocked = sigset_t()
sigemptyset(&unblocked)
sigaddset(&unblocked, SIGTERM)
sigaddset(&unblocked, SIGINT)
sigprocmask(SIG_UNBLOCK, &unblocked, nil)
var arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "run" else { fail(usage, status: 2) }
arguments.removeFirst()
let options: ControllerOptions
do { options = try ControllerOptions(arguments) } catch { fail("\(error)\n\(usage)", status: 2) }

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let logger = Logger(label: "weft-controller")
do {
    raiseDescriptorLimit(logger)
    let spec = try startingSpec(options, logger)
    let plane = try ControlPlane(stateDirectory: options.stateDirectory, spec: spec)
    if let tail = plane.unattestedAuditTail {
        logger.warning("audit log: entries past the last checkpoint at start (a crash, or lines added while stopped); the next checkpoint marks them unattested",
                       metadata: ["seq": "\(tail.lowerBound)-\(tail.upperBound)"])
    }
    let makeServer: @Sendable () throws -> ControlServer = {
        try ControlServer(plane: plane, nodeListen: options.listen, joinListen: options.joinListen,
                          names: options.advertisedNames, addresses: options.advertisedAddresses,
                          adminSocket: options.adminSocketPath)
    }
    let server = try makeServer()
    let services: [any Service] = [
        try MetricsService(endpoint: MetricsEndpoint(registry: plane.metrics.registry, health: { nil }),
                           host: options.metricsListen.host, port: UInt16(options.metricsListen.port)),
        ServerService(server: server, make: makeServer, plane: plane, logger: logger),
        ClusterSourceService(source: ClusterFileSource(path: options.cluster), plane: plane, logger: logger),
        RotationTimer(plane: plane, logger: logger),
    ]
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                  gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    logger.info("serving", metadata: ["nodes": "\(options.listen.host):\(options.listen.port)",
                                      "join": "\(options.joinListen.host):\(options.joinListen.port)",
                                      "state": "\(options.stateDirectory)", "cluster": "\(spec.cluster.name)",
                                      "admin": "\(options.adminSocketPath)",
                                      "metrics": "\(options.metricsListen.host):\(options.metricsListen.port)"])
    try await group.run()
    try await plane.checkpoint()
    plane.close()
    logger.info("stopped; audit log checkpointed")
} catch {
    fail("\(error)", status: 1)
}
