import Synchronization

/// Tells the reconcile loop that something may have changed. Signals coalesce: any number
/// of them before the loop looks count as one, because every reconcile compares whole
/// state. One waiter at a time (the loop).
public final class WakeSignal: Sendable {
    private struct State {
        var pending: Bool
        var stopped = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state: Mutex<State>

    /// `signalled`: the first wait returns at once (the reconcile loop reconciles at start).
    public init(signalled: Bool = true) {
        state = Mutex(State(pending: signalled))
    }

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            if state.waiter == nil { state.pending = true }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Every later wait returns at once (graceful shutdown).
    public func stop() {
        state.withLock { $0.stopped = true }
        signal()
    }

    public var isStopped: Bool { state.withLock { $0.stopped } }

    public enum Wake: Sendable, Equatable {
        case signalled, timedOut, stopped
    }

    /// Returns when signalled (or already signalled since the last wait), after `timeout`,
    /// on `stop()`, or when the task is cancelled (as `.timedOut`), whichever comes first.
    @discardableResult
    public func wait(atMost timeout: Duration) async -> Wake {
        await withTaskGroup(of: Wake.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return isStopped ? .stopped : first
        }
    }

    private func waitForSignal() async -> Wake {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.stopped || Task.isCancelled { return true }  // a pending signal stays for the next wait
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
            return Task.isCancelled ? .timedOut : .signalled
        } onCancel: {
            // The timeout won: give the waiter back without consuming a pending signal.
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
