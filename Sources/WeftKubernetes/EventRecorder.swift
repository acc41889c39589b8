import Foundation
import Logging

/// Warning Events on the objects Weft refuses or cannot enforce, so `kubectl describe`
/// shows why. Writes run in `run()`, apart from whoever records (the source's event order
/// never waits on the API); a burst beyond the buffer drops the oldest (the log has them
/// all), and at most `perMinute` are written a minute.
public struct EventRecorder: Sendable {
    public struct Record: Sendable {
        public var object: InvolvedObject
        public var reason: String
        public var message: String
    }

    let client: KubernetesClient
    let logger: Logger
    let records: AsyncStream<Record>
    let continuation: AsyncStream<Record>.Continuation
    public static let perMinute = 60
    /// Messages are cut to this (the API takes 1 KiB comfortably; a policy's reasons can be long).
    public static let messageLimit = 1024

    public init(client: KubernetesClient, logger: Logger) {
        self.client = client
        self.logger = logger
        (records, continuation) = AsyncStream.makeStream(of: Record.self, bufferingPolicy: .bufferingNewest(256))
    }

    public func record(_ object: InvolvedObject, reason: String, message: String) {
        continuation.yield(Record(object: object, reason: reason, message: String(message.prefix(Self.messageLimit))))
    }

    public func finish() { continuation.finish() }

    public func run() async {
        var window = ContinuousClock.now, written = 0
        for await record in records {
            if ContinuousClock.now - window > .seconds(60) { window = .now; written = 0 }
            if written >= Self.perMinute { try? await Task.sleep(until: window + .seconds(60)); window = .now; written = 0 }
            written += 1
            do { _ = try await client.call("/api/v1/namespaces/\(record.object.namespace ?? "default")/events", method: .POST, body: Self.body(record)) } catch {
                logger.warning("event not written", metadata: ["object": "\(record.object)", "reason": "\(record.reason)", "error": "\(error)"])
            }
        }
    }

    static func body(_ record: Record, now: Date = Date()) -> [UInt8] {
        let time = ISO8601DateFormatter().string(from: now)
        var involved: [String: Any] = ["kind": record.object.kind.rawValue, "name": record.object.name,
                                       "apiVersion": record.object.kind == .networkPolicy ? "networking.k8s.io/v1" : "v1"]
        if let namespace = record.object.namespace { involved["namespace"] = namespace }
        let event: [String: Any] = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["generateName": "weft-", "namespace": record.object.namespace ?? "default"],
            "involvedObject": involved, "reason": record.reason, "message": record.message, "type": "Warning",
            "source": ["component": "weft-controller"], "firstTimestamp": time, "lastTimestamp": time, "count": 1,
        ]
        return Array((try? JSONSerialization.data(withJSONObject: event)) ?? Data())
    }
}
