import Dispatch
import Foundation
import Logging
import Netlink
import WeftAgent
import WeftModel

/// `weft-agent run`: reconcile whenever something may have changed, forever.
///
/// Wake-ups come from three sources into one semaphore: the desired-state file's
/// modification time (polled twice a second), netlink events on the node's link,
/// neighbour, route and nexthop groups (our own writes cause some too; the reconcile that
/// follows finds nothing to do), and the periodic resync. Every reconcile compares whole
/// state. A document that fails to decode or validate is logged and ignored: the previous
/// one stays in force, and so does the datapath.
func run(_ options: Options) throws -> Int32 {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: "weft-agent")
    logger[metadataKey: "netns"] = "\(options.namespace ?? "-")"
    // Controller mode: keys, incarnation and certificate first (the reconciler needs kex.key).
    let metrics = AgentMetrics(resync: options.resync)
    let source = options.controller == nil ? nil : try ControllerSource(options: options, logger: logger, metrics: metrics)
    let reconciler = try options.reconciler()
    try metrics.serve(port: options.metricsPort)
    let wake = DispatchSemaphore(value: 1)
    try watchNetlink(options.namespace, wake: wake, logger: logger)
    let expiries = try watchExpiries(options.namespace, metrics: metrics, wake: wake, logger: logger)
    watchFile(options.file!, wake: wake)
    stopOnSignals(logger: logger)
    source?.start(wake: wake)

    var current: DesiredNodeState?
    var backoff = 1.0
    while true {
        let timeout = current == nil || backoff > 1 ? backoff : options.resync
        _ = wake.wait(timeout: .now() + timeout)
        while wake.wait(timeout: .now()) == .success {}  // coalesce a burst of wake-ups
        metrics.loopAlive()
        do {
            if source != nil && !FileManager.default.fileExists(atPath: options.file!) { continue }  // no snapshot yet
            let state = try options.readDesiredState()
            if state != current { logger.info("desired state loaded", metadata: ["revision": "\(state.revision)", "peers": "\(state.peers.count)"]) }
            current = state
            expiries.localUnderlay = IPAddress(state.node.underlay)
            metrics.desiredRevision.set(Double(state.revision))
        } catch {
            logger.error("desired state refused; keeping the previous one", metadata: ["error": "\(error)"])
        }
        guard let state = current else { continue }
        do {
            let start = Date()
            let report = try reconciler.apply(state)
            metrics.reconciles.increment()
            metrics.reconcileSeconds.set(Date().timeIntervalSince(start))
            metrics.kernelWrites.increment(by: Int64(report.writes))
            metrics.failedChanges.increment(by: Int64(report.failures.count))
            metrics.refusedChanges.increment(by: Int64(report.refused.count))
            if report.succeeded { metrics.appliedRevision.set(Double(state.revision)) }
            if let trust = reconciler.trust { metrics.record(verdicts: try trust.counters()) }
            if report.writes > 0 || !report.succeeded {
                logger.info("reconciled", metadata: ["revision": "\(state.revision)", "writes": "\(report.writes)",
                                                     "failed": "\(report.failures.count)", "changes": "\(report.summary(dryRun: false))"])
            }
            for (change, reason) in report.refused {
                logger.error("change refused", metadata: ["change": "\(change)", "reason": "\(reason)"])
            }
            for (change, error) in report.failures {
                logger.warning("change failed; will retry", metadata: ["change": "\(change)", "error": "\(error)"])
            }
            backoff = report.succeeded ? 1 : min(backoff * 2, 30)
            source?.acknowledge(state, report: ReconcileReportSummary(
                succeeded: report.succeeded, failures: report.failures.map { "\($0.change): \($0.error)" } + report.refused.map { "\($0.change): \($0.reason)" },
                installedSPIs: report.succeeded ? plannedSPIs(state) : []), softExpired: expiries.drainSoft())
        } catch {
            metrics.reconcileFailures.increment()
            logger.error("reconcile failed; will retry", metadata: ["error": "\(error)", "retry_s": "\(backoff)"])
            backoff = min(backoff * 2, 30)
        }
    }
}

/// Wakes the loop on any link, neighbour, route or nexthop event in the namespace.
private func watchNetlink(_ namespace: String?, wake: DispatchSemaphore, logger: Logger) throws {
    let events = try NetlinkSocket(family: .route, namespace: namespace)
    try events.subscribe([.link, .neighbour, .ipv4Route, .nexthop])
    events.waitForeverForEvents()
    Thread {
        while true {
            do throws(NetlinkError) { _ = try events.receive() } catch {
                // An overrun lost events: a reconcile catches up with whatever they were.
                if error.errno != .noBufferSpace { logger.error("netlink events stopped", metadata: ["error": "\(error)"]); return }
            }
            wake.signal()
        }
    }.start()
}

/// SA expiries seen so far (for the controller's acknowledgement; logged and counted now).
final class ExpiryLog: @unchecked Sendable {
    private let lock = NSLock()
    private var underlay: IPAddress?
    private(set) var soft: [SAExpiry] = []
    var localUnderlay: IPAddress? {
        get { lock.withLock { underlay } }
        set { lock.withLock { underlay = newValue } }
    }
    func append(_ expiry: SAExpiry) { lock.withLock { soft.append(expiry) } }
    /// The soft-expired SPIs seen since the last call (for the controller's ack).
    func drainSoft() -> [UInt32] { lock.withLock { defer { soft = [] }; return soft.map(\.spi) } }
}

/// The SPIs the state asks for (all installed when the reconcile succeeded).
func plannedSPIs(_ state: DesiredNodeState) -> [UInt32] {
    guard state.cluster.encryption else { return [] }
    return state.peers.filter(\.encrypt).flatMap { peer in [peer.activeOutbound?.spi].compactMap { $0 } + peer.activeInbound.map(\.spi) }
}

/// Listens on XFRMNLGRP_EXPIRE. A soft expiry is logged and counted (rotation due); a hard
/// one also wakes the loop, whose reconcile then reports the missing SA as refused.
private func watchExpiries(_ namespace: String?, metrics: AgentMetrics, wake: DispatchSemaphore, logger: Logger) throws -> ExpiryLog {
    let log = ExpiryLog()
    let events = try NetlinkSocket(family: .xfrm, namespace: namespace)
    try events.subscribe([.xfrmExpire])
    events.waitForeverForEvents()
    Thread {
        while true {
            let batch: [Message]
            do throws(NetlinkError) { batch = try events.receive() } catch {
                if error.errno != .noBufferSpace { logger.error("xfrm events stopped", metadata: ["error": "\(error)"]); return }
                continue
            }
            for case .xfrmExpire(let event)? in batch.map({ try? NetlinkEvent(decoding: $0, family: .xfrm) }) {
                guard let expiry = SAExpiry(event, localUnderlay: log.localUnderlay) else { continue }
                let metadata: Logger.Metadata = ["peer": "\(expiry.peerIndex)", "direction": "\(expiry.direction)",
                                                 "spi": "0x\(String(expiry.spi, radix: 16))"]
                if expiry.hard {
                    metrics.hardExpiries.increment()
                    logger.error("SA hard limit reached; the kernel removed it, a new epoch is needed", metadata: metadata)
                    wake.signal()
                } else {
                    metrics.softExpiries.increment()
                    log.append(expiry)
                    logger.warning("SA soft limit reached; rotation due", metadata: metadata)
                }
            }
        }
    }.start()
    return log
}

/// Wakes the loop when the file's modification time or size changes.
private func watchFile(_ path: String, wake: DispatchSemaphore) {
    Thread {
        func stamp() -> String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            return "\(attributes?[.modificationDate] ?? "-") \(attributes?[.size] ?? "-")"
        }
        var last = stamp()
        while true {
            Thread.sleep(forTimeInterval: 0.5)
            let now = stamp()
            if now != last { last = now; wake.signal() }
        }
    }.start()
}

/// SIGTERM and SIGINT end the process cleanly; the kernel state stays as it is, so the
/// datapath keeps working until the next agent adopts it.
private func stopOnSignals(logger: Logger) {
    // A supervisor may have blocked them before starting us (the mask is inherited).
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    sigaddset(&unblocked, SIGTERM)
    sigaddset(&unblocked, SIGINT)
    sigprocmask(SIG_UNBLOCK, &unblocked, nil)
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            logger.info("stopping; the datapath stays in place", metadata: ["signal": "\(signalNumber)"])
            exit(0)
        }
        source.resume()
        retainedSignalSources.append(source)
    }
}

nonisolated(unsafe) private var retainedSignalSources: [DispatchSourceSignal] = []
