import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import WeftControlAPI
#if canImport(Glibc)
import Glibc
#endif

/// The fan-out's clients, in a process of their own (`weft-bench-controller fanout-clients
/// FILE`), so the controller's memory is measured without theirs. FILE (JSON, 0600, in a
/// private temporary directory) holds the node listener's port, the CA and each client's
/// certificate and key. Prints `ready` once every client has its snapshot, one
/// `arrival NANOSECONDS` (CLOCK_MONOTONIC, comparable across processes) per delta, and
/// `rss MB` at the end.
struct FanoutPlan: Codable {
    struct Client: Codable { var certificate: String, key: String }
    var port: Int
    var ca: String
    var clients: [Client]
}

/// One write per line: lines from concurrent clients never interleave.
@Sendable func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func runFanoutClients(planFile: String) async throws {
    let plan = try JSONDecoder().decode(FanoutPlan.self, from: Data(contentsOf: URL(fileURLWithPath: planFile)))
    let ca = Array(plan.ca.utf8)
    let ready = Counter()
    let watchers = Task {
        await withTaskGroup(of: Void.self) { group in
            for client in plan.clients {
                group.addTask {
                    do {
                        try await withGRPCClient(transport: .http2NIOPosix(
                            target: .ipv4(address: "127.0.0.1", port: plan.port),
                            transportSecurity: .mTLS(certificateChain: [.bytes(Array(client.certificate.utf8), format: .pem)],
                                                     privateKey: .bytes(Array(client.key.utf8), format: .pem)) {
                                $0.trustRoots = .certificates([.bytes(ca, format: .pem)])
                            })) { grpc in
                            try await Weft_V1_Control.Client(wrapping: grpc).watch(Weft_V1_WatchRequest()) { response in
                                for try await update in response.messages {
                                    if case .snapshot? = update.update {
                                        ready.increment()
                                        if ready.value == plan.clients.count { emit("ready") }
                                    }
                                    if case .delta? = update.update { emit("arrival \(monotonicNanoseconds())"); return }
                                }
                            }
                        }
                    } catch {}  // the revoked node's stream ends with PERMISSION_DENIED
                }
            }
        }
    }
    await watchers.value
    emit("rss \(String(format: "%.1f", peakRSS()))")
}
