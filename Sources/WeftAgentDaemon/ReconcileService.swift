import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import WeftAgent
import WeftModel

/// The reconcile loop: whenever woken (a new desired state, a kernel event, a hard SA
/// expiry) and every `resync`, make the kernel match the newest desired state. Failed
/// changes are retried with backoff (1 s doubling to 30 s). The netlink and BPF work
/// blocks, so it runs on one of the daemon's kernel threads. Graceful shutdown lets a
/// reconcile under way finish and leaves the datapath in place.
public struct ReconcileService: Service {
    let reconciler: Reconciler
    let desired: DesiredStateBox
    let wake: WakeSignal
    let threads: NIOThreadPool
    let resync: Duration
    let metrics: AgentMetrics
    let logger: Logger
    /// Told of every reconcile that ran (the controller's acknowledgement).
    let reconciled: @Sendable (DesiredNodeState, ReconcileReport) -> Void

    public init(reconciler: Reconciler, desired: DesiredStateBox, wake: WakeSignal, threads: NIOThreadPool, resync: Duration,
                metrics: AgentMetrics, logger: Logger, reconciled: @escaping @Sendable (DesiredNodeState, ReconcileReport) -> Void = { _, _ in }) {
        self.reconciler = reconciler
        self.desired = desired
        self.wake = wake
        self.threads = threads
        self.resync = resync
        self.metrics = metrics
        self.logger = logger
        self.reconciled = reconciled
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            var backoff: Duration = .seconds(1)
            while !wake.isStopped && !Task.isCancelled {
                await wake.wait(atMost: desired.current == nil || backoff > .seconds(1) ? backoff : resync)
                guard !wake.isStopped else { return }
                metrics.loopAlive()
                guard let state = desired.current else { continue }
                backoff = await reconcile(state) ? .seconds(1) : min(backoff * 2, .seconds(30))
            }
        } onGracefulShutdown: { [wake] in
            wake.stop()
        }
    }

    /// One reconcile; whether it succeeded.
    private func reconcile(_ state: DesiredNodeState) async -> Bool {
        let reconciler = reconciler
        do {
            let start = ContinuousClock.now
            let (report, verdicts) = try await threads.runIfActive {
                (try reconciler.apply(state), try reconciler.trust?.counters())
            }
            record(report, of: state, took: ContinuousClock.now - start)
            if let verdicts { metrics.record(verdicts: verdicts) }
            reconciled(state, report)
            return report.succeeded
        } catch {
            metrics.reconcileFailures.increment()
            logger.error("reconcile failed; will retry", metadata: ["error": "\(error)"])
            return false
        }
    }

    private func record(_ report: ReconcileReport, of state: DesiredNodeState, took: Duration) {
        metrics.reconciles.increment()
        metrics.reconcileSeconds.set(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
        metrics.kernelWrites.increment(by: Int64(report.writes))
        metrics.failedChanges.increment(by: Int64(report.failures.count))
        metrics.refusedChanges.increment(by: Int64(report.refused.count))
        if report.succeeded { metrics.appliedRevision.set(Double(state.revision)) }
        if report.writes > 0 || !report.succeeded {
            logger.info("reconciled", metadata: ["revision": "\(state.revision)", "writes": "\(report.writes)",
                                                 "failed": "\(report.failures.count)", "changes": "\(report.summary(dryRun: false))"])
        }
        for refusal in report.refused {
            logger.error("change refused", metadata: ["change": "\(refusal.change)", "kind": "\(refusal.change.kind.rawValue)",
                                                      "reason": "\(refusal.reason)"])
        }
        for failure in report.failures {
            logger.warning("change failed; will retry", metadata: ["change": "\(failure.change)", "kind": "\(failure.change.kind.rawValue)",
                                                                   "errno": "\(failure.error.errno.map { "\($0)" } ?? "-")",
                                                                   "error": "\(failure.error)"])
        }
    }
}
