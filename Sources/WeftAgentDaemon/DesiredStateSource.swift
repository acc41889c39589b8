import Foundation
import Synchronization
import WeftFiles
import WeftModel

/// What a source says about the node's desired state.
public enum DesiredStateEvent: Sendable {
    /// A decoded and validated state: the one to reconcile to from now on.
    case state(DesiredNodeState)
    /// The source has a state it refuses (a malformed file): the previous one stays in force.
    case refused(String)
}

/// Where the agent's desired state comes from: a file (`DesiredStateFile`) or the
/// controller's watch stream (`ControllerWatch`). The same shape as the controller's
/// `ClusterSource`: a source runs until cancelled, delivering events as they come.
public protocol DesiredStateSource: Sendable {
    func run(deliver: @escaping @Sendable (DesiredStateEvent) async -> Void) async throws
}

/// The state the reconcile loop works toward: the newest one a source delivered. A
/// refused one leaves it as it was.
public final class DesiredStateBox: Sendable {
    private let state = Mutex<DesiredNodeState?>(nil)
    public init() {}
    public var current: DesiredNodeState? { state.withLock { $0 } }
    public func replace(_ new: DesiredNodeState) { state.withLock { $0 = new } }
}

/// A desired-state file, polled with stat() (`FileVersion`); each new version is read and
/// decoded once.
public struct DesiredStateFile: DesiredStateSource {
    public let path: String
    public let interval: Duration
    /// A missing file is no event at all (the controller has not sent a snapshot yet).
    public let missingIsSilent: Bool

    public init(path: String, interval: Duration = .milliseconds(500), missingIsSilent: Bool = false) {
        self.path = path
        self.interval = interval
        self.missingIsSilent = missingIsSilent
    }

    public func run(deliver: @escaping @Sendable (DesiredStateEvent) async -> Void) async throws {
        var last: String?
        while !Task.isCancelled {
            let now = version()
            if now != last {
                last = now
                if let event = read(version: now) { await deliver(event) }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// The file as an event (nil: missing and silent).
    public func read(version: String? = nil) -> DesiredStateEvent? {
        if (version ?? self.version()) == FileVersion.missing {
            return missingIsSilent ? nil : .refused("cannot read \(path): no such file")
        }
        do {
            return .state(try Self.load(path))
        } catch {
            return .refused("\(error)")
        }
    }

    public static func load(_ path: String) throws -> DesiredNodeState {
        guard let data = FileManager.default.contents(atPath: path) else { throw DaemonError("cannot read \(path)") }
        return try DesiredNodeState.decode(data)
    }

    func version() -> String { FileVersion.of(path) }
}

/// A failure of the agent daemon that is not the kernel's or the network's: a file, an
/// option, a key. The text names what was wrong, never a secret.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
