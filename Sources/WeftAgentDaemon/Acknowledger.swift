import ServiceLifecycle
import Synchronization
import WeftControlAPI

/// Reports reconciles to the controller, one call at a time, best effort: a report not
/// sent yet is replaced by a newer one, and a report the controller did not get is not
/// sent again (the next reconcile reports anew). The soft-expired SPIs a report carried
/// are never dropped that way: they ride on the next report until one is delivered (the
/// controller rotates on them).
public final class Acknowledger: Service, Sendable {
    private struct State {
        var pending: Weft_V1_AckRequest?
        var expiries: [UInt32] = []
    }
    let link: ControllerLink
    private let state = Mutex(State())
    private let wake = WakeSignal(signalled: false)

    public init(link: ControllerLink) { self.link = link }

    /// The newest reconcile's report.
    public func submit(_ request: Weft_V1_AckRequest) {
        state.withLock { state in
            state.expiries = Self.union(state.expiries, request.softExpiredSpis)
            state.pending = request
        }
        wake.signal()
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !wake.isStopped && !Task.isCancelled {
                await wake.wait(atMost: .seconds(3600))
                guard let request = next() else { continue }
                do {
                    _ = try await link.withControl { try await $0.ack(request) }
                } catch {
                    link.metrics.acksFailed.increment()
                    link.logger.debug("ack not delivered", metadata: ["error": "\(error)"])
                    state.withLock { $0.expiries = Self.union(request.softExpiredSpis, $0.expiries) }
                }
            }
        } onGracefulShutdown: { [wake] in
            wake.stop()
        }
    }

    /// The report to send now, carrying every expiry not delivered yet.
    private func next() -> Weft_V1_AckRequest? {
        state.withLock { state in
            guard var request = state.pending else { return nil }
            request.softExpiredSpis = state.expiries
            state.pending = nil
            state.expiries = []
            return request
        }
    }

    static func union(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var seen = Set<UInt32>()
        return (a + b).filter { seen.insert($0).inserted }
    }
}
