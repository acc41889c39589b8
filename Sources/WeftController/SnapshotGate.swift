import Synchronization

/// How many Watch snapshots are being built, encoded and handed to the transport at once.
/// A node's full state in a 5,000-node cluster is ~2.5 MB of JSON; when every agent
/// (re)connects together (a controller restart, a cluster booting), building each
/// snapshot as its Watch arrives held thousands of them in memory before the first was
/// sent (over 4 GiB in the 5,000-watcher benchmark). Waiters are served in arrival order;
/// a waiter whose call is cancelled leaves the queue without a permit.
public final class SnapshotGate: Sendable {
    public let limit: Int

    private struct State {
        var available: Int
        var waiting: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        /// Arrival order of `waiting`'s ids (ids of cancelled waiters are skipped).
        var order: [UInt64] = []
        var head = 0
        var nextID: UInt64 = 0

        mutating func nextWaiter() -> CheckedContinuation<Bool, Never>? {
            defer { compact() }
            while head < order.count {
                let id = order[head]
                head += 1
                if let waiter = waiting.removeValue(forKey: id) { return waiter }
            }
            return nil
        }

        private mutating func compact() {
            guard head > 1024, head * 2 > order.count else { return }
            order.removeFirst(head)
            head = 0
        }
    }

    private let state: Mutex<State>

    public init(limit: Int) {
        precondition(limit > 0, "a snapshot gate needs at least one permit")
        self.limit = limit
        state = Mutex(State(available: limit))
    }

    /// One permit, given back once (by `release()`, the first call counts).
    public final class Permit: Sendable {
        private let gate: SnapshotGate
        private let held = Atomic<Bool>(true)

        init(_ gate: SnapshotGate) { self.gate = gate }

        public var isHeld: Bool { held.load(ordering: .acquiring) }

        public func release() {
            if held.exchange(false, ordering: .acquiringAndReleasing) { gate.release() }
        }

        /// Runs `body` (the snapshot's write) holding the permit for at most `lease`: a
        /// reader that never takes its snapshot keeps its call, not the permit. Released
        /// when `body` returns either way.
        public func whileHeld(atMost lease: Duration, _ body: () async throws -> Void) async throws {
            defer { release() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    try? await Task.sleep(for: lease)
                    release()
                }
                defer { group.cancelAll() }
                try await body()
            }
        }
    }

    /// Waits for a permit; nil when the task was cancelled first.
    public func acquire() async -> Permit? {
        await acquired() ? Permit(self) : nil
    }

    private func acquired() async -> Bool {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                // Under the lock, so a cancellation either is seen here or finds the waiter.
                let granted: Bool? = state.withLock { state in
                    if Task.isCancelled { return false }
                    if state.available > 0 {
                        state.available -= 1
                        return true
                    }
                    state.waiting[id] = continuation
                    state.order.append(id)
                    return nil
                }
                if let granted { continuation.resume(returning: granted) }
            }
        } onCancel: {
            state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(returning: false)
        }
    }

    /// Gives a permit back: to the longest waiter, if any.
    private func release() {
        let next: CheckedContinuation<Bool, Never>? = state.withLock { state in
            if let waiter = state.nextWaiter() { return waiter }
            state.available = min(state.available + 1, limit)
            return nil
        }
        next?.resume(returning: true)
    }

    /// Permits not in use (for metrics and tests).
    public var available: Int { state.withLock { $0.available } }
    /// Calls waiting for a permit.
    public var waiting: Int { state.withLock { $0.waiting.count } }
}
