import Foundation
import WeftFiles
import WeftModel
import WeftPlanner

/// Where cluster state comes from. A source produces events; `ControlPlane.apply(_:)`
/// consumes them. The cluster file is the embedded source (`ClusterFileSource`); the
/// Kubernetes API and etcd fit the same shape: a list is a `snapshot` at a resource
/// version, a watch yields `pods` deltas at increasing versions, and a watch that fell too
/// far behind (HTTP 410 Gone, etcd compaction) starts again with a `snapshot`.
public enum ClusterEvent: Sendable {
    /// The whole cluster state at `version` (the file; a Kubernetes list).
    case snapshot(ClusterSpec, version: String)
    /// Pod changes since the previous event (a Kubernetes or etcd watch), at `version`.
    case pods([Planner.PodChange], version: String)
    /// The source has state it refuses (a malformed file): the previous state stays in force.
    case refused(String, version: String)
}

public protocol ClusterSource: Sendable {
    /// The source's events, starting with a snapshot; ends when the task is cancelled.
    func events() -> AsyncStream<ClusterEvent>
}

/// The cluster file, polled with stat() twice a second (stat follows symlinks: a
/// Kubernetes ConfigMap volume swaps its `..data` link, not the file). Its version is the
/// file's device, inode, modification time and size.
public struct ClusterFileSource: ClusterSource {
    public let path: String
    public let interval: Duration

    public init(path: String, interval: Duration = .milliseconds(500)) {
        self.path = path
        self.interval = interval
    }

    public func events() -> AsyncStream<ClusterEvent> {
        AsyncStream { continuation in
            let task = Task {
                var last = ""
                while !Task.isCancelled {
                    let now = version()
                    if now != last {
                        last = now
                        continuation.yield(read(version: now))
                    }
                    try? await Task.sleep(for: interval)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The file as an event: a snapshot, or why it is refused.
    public func read(version: String) -> ClusterEvent {
        do {
            return .snapshot(try ClusterFile.load(path), version: version)
        } catch {
            return .refused("\(error)", version: version)
        }
    }

    public func version() -> String { FileVersion.of(path) }
}
