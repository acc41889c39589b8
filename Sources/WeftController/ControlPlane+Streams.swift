import Foundation
import WeftModel
import WeftPlanner

/// The agents' Watch streams: one per node, each with a bounded buffer.
extension ControlPlane {
    /// A node's one live stream; `id` tells it from the stream it replaced, whose
    /// termination arrives later.
    struct Watcher {
        let id: UUID
        let continuation: AsyncThrowingStream<WatchEvent, Error>.Continuation
    }

    public enum WatchEvent: Sendable {
        case snapshot(DesiredNodeState)
        case delta(DesiredStateDelta)
    }

    /// Updates a stream may have waiting for its reader. A watcher that falls further
    /// behind (stalled, or a reader slower than the changes) has its stream ended with
    /// RESOURCE_EXHAUSTED once the buffered updates are read; it reconnects and starts
    /// from a fresh snapshot, so the controller never holds more than this per node.
    public static let streamBuffer = 32

    /// The node's stream: its snapshot now, then a delta whenever its state changes. A node
    /// has one stream: a new Watch (the agent reconnected) ends the older one with
    /// UNAVAILABLE, so one certificate cannot hold thousands of streams.
    public func watch(node: String) -> AsyncThrowingStream<WatchEvent, Error> { openWatch(node: node).events }

    /// `watch`, and whether the stream starts with a snapshot (the node is active): the
    /// service holds a `snapshots` permit until that snapshot is on its way.
    public func openWatch(node: String) -> (events: AsyncThrowingStream<WatchEvent, Error>, snapshot: Bool) {
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, Error>.makeStream(bufferingPolicy: .bufferingOldest(Self.streamBuffer))
        endStreams(of: node, Failure(kind: .unavailable, description: "replaced by a newer Watch stream of node \(node)"))
        let id = UUID()
        watchers[node] = Watcher(id: id, continuation: continuation)
        continuation.onTermination = { _ in Task { await self.unwatch(node, id) } }
        countConnected()
        guard let state = planner.desiredState(for: node) else { return (stream, false) }
        sent[node] = Planner.SentSections(state)
        continuation.yield(.snapshot(state))
        return (stream, true)
    }

    private func unwatch(_ node: String, _ id: UUID) {
        guard watchers[node]?.id == id else { return }  // replaced, or ended already
        watchers[node] = nil
        sent[node] = nil
        countConnected()
    }

    /// Ends `node`'s stream with `failure` (revoked, retired, replaced, fallen behind).
    func endStreams(of node: String, _ failure: Failure) {
        watchers.removeValue(forKey: node)?.continuation.finish(throwing: failure)
        sent[node] = nil
        countConnected()
    }

    func countConnected() {
        metrics.connectedAgents.set(Double(watchers.count))
    }

    /// Sends each watched node in `changed` its delta since `base` (O(what changed) per
    /// node: the shared peer table's change is computed once), or a snapshot when the
    /// node's streams were not at `base`'s revision (it just became active, say).
    func publish(_ changed: Set<String>, since base: Planner.Baseline) {
        let now = Date()
        for node in changed {
            if pendingSince[node] == nil { pendingSince[node] = now }
            metrics.setRevisionLag(node, (planner.revisions[node] ?? 0) - min(applied[node] ?? 0, planner.revisions[node] ?? 0))
        }
        metrics.activeNodes.set(Double(planner.activeNodes.count))
        let watched = changed.filter { watchers[$0] != nil }
        guard !watched.isEmpty else { return }
        let table = planner.peerTableChange(since: base)
        for node in watched {
            let event: WatchEvent
            if var record = sent[node], let delta = planner.delta(for: node, since: base, table: table, sent: &record) {
                sent[node] = record
                event = .delta(delta)
            } else if let state = planner.desiredState(for: node) {
                sent[node] = Planner.SentSections(state)
                event = .snapshot(state)
            } else {
                continue
            }
            deliver(event, to: node)
        }
    }

    private func deliver(_ event: WatchEvent, to node: String) {
        guard case .dropped? = watchers[node]?.continuation.yield(event) else { return }
        // Its buffer is full: what it holds stays consistent, then the stream ends.
        endStreams(of: node, Failure(kind: .resourceExhausted,
                                     description: "the Watch stream fell \(Self.streamBuffer) updates behind; reconnect for a fresh snapshot"))
        metrics.streamsDropped.increment()
    }

    /// Ends every open Watch stream (shutdown: the server waits for open calls to finish,
    /// and a watch never does by itself). Agents reconnect with backoff.
    public func endStreams() {
        for watcher in watchers.values { watcher.continuation.finish() }
        watchers = [:]
        sent = [:]
        countConnected()
    }
}
