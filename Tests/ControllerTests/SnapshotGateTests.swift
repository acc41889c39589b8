import Foundation
import Testing
@testable import WeftController

/// `SnapshotGate`: at most `limit` snapshots at once, in arrival order, and neither a
/// cancelled waiter nor a reader that never reads keeps a permit.
@Suite("snapshot gate: bounded, in order, never held by a cancelled or stalled call")
struct SnapshotGateTests {
    /// Waits (up to 60 s) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)  // a starved cooperative pool (parallel tests on 2 cores) is slow, not wrong
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    @Test("limit 2: the third waits; released permits go to waiters first come, first served")
    func bounded() async throws {
        let gate = SnapshotGate(limit: 2)
        let first = try #require(await gate.acquire()), second = try #require(await gate.acquire())
        #expect(gate.available == 0)
        let order = Order()
        let third = Task { let permit = await gate.acquire(); order.append(3); return permit }
        #expect(await Self.eventually { gate.waiting == 1 })
        let fourth = Task { let permit = await gate.acquire(); order.append(4); return permit }
        #expect(await Self.eventually { gate.waiting == 2 })
        first.release()
        first.release()  // a second release of one permit gives nothing back
        let thirdPermit = try #require(await third.value)
        #expect(order.values == [3] && gate.waiting == 1 && gate.available == 0)
        second.release()
        let fourthPermit = try #require(await fourth.value)
        #expect(order.values == [3, 4])
        thirdPermit.release()
        fourthPermit.release()
        #expect(gate.available == 2 && gate.waiting == 0)
    }

    @Test("a waiter cancelled in the queue gets no permit and takes none from the next")
    func cancelled() async throws {
        let gate = SnapshotGate(limit: 1)
        let held = try #require(await gate.acquire())
        let waiter = Task { await gate.acquire() }
        #expect(await Self.eventually { gate.waiting == 1 })
        waiter.cancel()
        #expect(await waiter.value == nil)
        #expect(gate.waiting == 0)
        held.release()
        #expect(gate.available == 1)
        // Cancelled before it even asks: no permit, none taken.
        let early = Task { withUnsafeCurrentTask { $0?.cancel() }; return await gate.acquire() }
        #expect(await early.value == nil && gate.available == 1)
    }

    @Test("a write that does not finish holds its permit for the lease only")
    func lease() async throws {
        let gate = SnapshotGate(limit: 1)
        let permit = try #require(await gate.acquire())
        let stalled = Stall()
        let writing = Task { try await permit.whileHeld(atMost: .milliseconds(50)) { await stalled.wait() } }
        #expect(await Self.eventually { gate.available == 1 }, "the lease ran out but the permit was kept")
        let next = try #require(await gate.acquire())
        stalled.resume()
        try await writing.value
        next.release()
        #expect(gate.available == 1, "a lapsed permit was given back twice")
    }
}

final class Order: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int] = []
    func append(_ value: Int) { lock.withLock { list.append(value) } }
    var values: [Int] { lock.withLock { list } }
}

/// A wait that ends when `resume()` is called (before or after the wait starts).
final class Stall: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var resumed = false

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Bool in
                if resumed { return true }
                self.continuation = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    func resume() {
        let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            resumed = true
            defer { continuation = nil }
            return continuation
        }
        waiting?.resume()
    }
}
