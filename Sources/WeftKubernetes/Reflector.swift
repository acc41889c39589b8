import Foundation
import Logging

/// One resource kept current from the API, as client-go's reflector does: a paginated
/// list, then a watch from the list's resourceVersion (bookmarks move it on); a watch the
/// server ends is resumed from the last version seen, so no event is lost or seen twice; a
/// `410 Gone` (the version was compacted away) lists again, and the caller replaces what
/// it held, which turns whatever vanished meanwhile into deletes. Failures back off
/// (0.5 s doubling to 30 s), reset after a stream that delivered events.
public struct Reflector<Object: Decodable & Sendable>: Sendable {
    public enum Event: Sendable {
        case replaced([Object], version: String)
        case upserted(Object, version: String)
        case deleted(Object, version: String)
    }

    let client: KubernetesClient
    let resource: WatchedResource
    let logger: Logger
    /// The server ends each watch after this (client-go: 5-10 minutes, jittered).
    var watchSeconds: ClosedRange<Int> = 300...600

    public init(client: KubernetesClient, resource: WatchedResource, logger: Logger, watchSeconds: ClosedRange<Int> = 300...600) {
        self.client = client
        self.resource = resource
        self.logger = logger
        self.watchSeconds = watchSeconds
    }

    private struct Envelope: Decodable {
        struct Meta: Decodable { var resourceVersion: String? }
        struct Carrier: Decodable { var metadata: Meta? }
        var type: String
        var object: Carrier
    }
    private struct Typed<T: Decodable>: Decodable { var object: T }

    public func run(_ handle: @Sendable (Event) async throws -> Void) async throws {
        var version: String? = nil
        var delay: Duration = .milliseconds(500)
        while !Task.isCancelled {
            var delivered = false
            do {
                if version == nil {
                    let listed = try await client.list(resource.path, as: Object.self)
                    logger.info("listed", metadata: ["resource": "\(resource)", "items": "\(listed.items.count)", "version": "\(listed.resourceVersion)"])
                    try await handle(.replaced(listed.items, version: listed.resourceVersion))
                    version = listed.resourceVersion
                    delivered = true
                }
                let opened = ContinuousClock.now
                try await client.watch(resource.path, from: version!, timeoutSeconds: Int.random(in: watchSeconds)) { line in
                    if let seen = try await self.event(line, handle) { version = seen; delivered = true }
                }
                // A stream the server ended at once without a single event (one shutting
                // down, a proxy cutting it) is retried after the same backoff as a failure.
                if delivered || ContinuousClock.now - opened > .seconds(5) { delay = .milliseconds(500) } else {
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                }
            } catch let failure as KubernetesClient.Failure where failure.isGone {
                logger.notice("resource version gone; listing again", metadata: ["resource": "\(resource)", "version": "\(version ?? "-")"])
                version = nil
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                if delivered { delay = .milliseconds(500) }
                logger.warning("list or watch failed; retrying", metadata: ["resource": "\(resource)", "error": "\(error)", "retry_ms": "\(delay.milliseconds)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// One watch line: handled, and the version it brings (nil: none).
    private func event(_ line: [UInt8], _ handle: @Sendable (Event) async throws -> Void) async throws -> String? {
        let data = Data(line)
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: data) } catch {
            throw KubernetesClient.Failure(status: 200, description: "watch \(resource): an event that is not JSON (\(error))")
        }
        switch envelope.type {
        case "BOOKMARK":
            return envelope.object.metadata?.resourceVersion
        case "ERROR":
            let status = try? JSONDecoder().decode(Typed<StatusObject>.self, from: data).object
            throw KubernetesClient.Failure(status: status?.code ?? 500, description: "watch \(resource): \(status?.message ?? "error event")")
        case "ADDED", "MODIFIED", "DELETED":
            let object: Object
            do { object = try JSONDecoder().decode(Typed<Object>.self, from: data).object } catch {
                throw KubernetesClient.Failure(status: 200, description: "watch \(resource): a \(envelope.type) event that does not decode (\(error))")
            }
            let version = envelope.object.metadata?.resourceVersion ?? ""
            try await handle(envelope.type == "DELETED" ? .deleted(object, version: version) : .upserted(object, version: version))
            return version
        default:
            throw KubernetesClient.Failure(status: 200, description: "watch \(resource): unknown event type \"\(envelope.type.prefix(32))\"")
        }
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
