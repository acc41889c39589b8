import Testing
import WeftAgentDaemon

@Suite("the reconcile loop's wake-up signal")
struct WakeSignalTests {
    @Test("signals before a wait coalesce into one wake-up; the next wait times out")
    func coalesce() async {
        let wake = WakeSignal(signalled: false)
        for _ in 0..<5 { wake.signal() }
        #expect(await wake.wait(atMost: .seconds(3600)) == .signalled)
        #expect(await wake.wait(atMost: .milliseconds(10)) == .timedOut)
    }

    @Test("a new signal starts signalled: the loop reconciles at start")
    func startsSignalled() async {
        #expect(await WakeSignal().wait(atMost: .seconds(3600)) == .signalled)
    }

    @Test("a signal while waiting wakes the waiter; a timeout leaves no waiter behind")
    func signalWhileWaiting() async {
        let wake = WakeSignal(signalled: false)
        #expect(await wake.wait(atMost: .milliseconds(1)) == .timedOut)
        async let woken = wake.wait(atMost: .seconds(3600))
        // The waiter may not be parked yet: a signal before it parks is kept as pending,
        // so either way this wait ends as signalled.
        wake.signal()
        #expect(await woken == .signalled)
    }

    @Test("stop: a waiting and every later wait return at once as stopped")
    func stop() async {
        let wake = WakeSignal(signalled: false)
        async let stopped = wake.wait(atMost: .seconds(3600))
        wake.stop()
        #expect(await stopped == .stopped)
        #expect(await wake.wait(atMost: .seconds(3600)) == .stopped)
        #expect(wake.isStopped)
    }
}
