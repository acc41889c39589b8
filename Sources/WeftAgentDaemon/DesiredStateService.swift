import Logging
import Netlink
import ServiceLifecycle
import WeftModel

/// Runs the desired-state source and keeps its newest state for the reconcile loop,
/// which it wakes on every new state. A refused state is logged and the previous one
/// stays in force, and so does the datapath.
public struct DesiredStateService: Service {
    let source: any DesiredStateSource
    let desired: DesiredStateBox
    let wake: WakeSignal
    let expiries: ExpiryLog
    let metrics: AgentMetrics
    let logger: Logger

    public init(source: any DesiredStateSource, desired: DesiredStateBox, wake: WakeSignal, expiries: ExpiryLog,
                metrics: AgentMetrics, logger: Logger) {
        self.source = source
        self.desired = desired
        self.wake = wake
        self.expiries = expiries
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        let desired = desired, wake = wake, expiries = expiries, metrics = metrics, logger = logger
        try await cancelWhenGracefulShutdown {
            try await source.run { event in
                switch event {
                case .state(let state):
                    if state != desired.current {
                        logger.info("desired state loaded", metadata: ["revision": "\(state.revision)", "peers": "\(state.peers.count)"])
                    }
                    expiries.localUnderlay = IPAddress(state.node.underlay)
                    metrics.desiredRevision.set(Double(state.revision))
                    desired.replace(state)
                    wake.signal()
                case .refused(let reason):
                    metrics.desiredRefused.increment()
                    logger.error("desired state refused; keeping the previous one", metadata: ["error": "\(reason)"])
                }
            }
        }
    }
}
