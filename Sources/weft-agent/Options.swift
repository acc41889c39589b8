import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Netlink
import WeftAgent
import WeftModel

/// Command-line options shared by `apply` and `run`.
struct Options {
    static let usage = """
        usage: weft-agent apply --desired FILE [--key FILE] [--state-dir DIR] [--bpf DIR --pin-root DIR] [-n NETNS] [--dry-run]
               weft-agent keygen --out FILE
               weft-agent run   --desired FILE [--key FILE] [--state-dir DIR] [--bpf DIR --pin-root DIR] [-n NETNS] [--resync SECONDS] [--metrics-port PORT]
               weft-agent run   --controller HOST:PORT --node NAME --ca CA.crt [--token TOKEN | --token-file FILE] [--join HOST:PORT] [--state-dir DIR] [...]
        """

    var file: String?
    var keyFile: String?
    var namespace: String?
    var dryRun = false
    var bpfDirectory: String?
    var pinRoot = "/sys/fs/bpf/weft"
    /// Where the agent keeps what must survive it: the SA ledger (docs/desired-state.md).
    var stateDirectory = "/var/lib/weft"
    var resync: Double = 30
    /// `run` serves /metrics and /healthz here (loopback only by default).
    var metricsPort: UInt16 = 9464
    /// Controller mode: the node listener, the join listener (default: same host, 7444),
    /// the join token (first start only), the cluster CA to trust, this node's name.
    var controller: (host: String, port: Int)?
    var joinEndpoint: (host: String, port: Int)?
    var token: String?
    /// The token in a file (a mounted Secret): kept out of the process list.
    var tokenFile: String?
    var caFile: String?
    var nodeName: String?

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw UsageError(message: "\(flag) needs a value") }
            return next
        }
        func endpoint(_ flag: String) throws -> (host: String, port: Int) { try Self.parseEndpoint(flag, try value(flag)) }
        while let argument = rest.popFirst() {
            switch argument {
            case "--desired": file = try value(argument)
            case "--key": keyFile = try value(argument)
            case "-n", "--netns": namespace = try value(argument)
            case "--bpf": bpfDirectory = try value(argument)
            case "--pin-root": pinRoot = try value(argument)
            case "--state-dir": stateDirectory = try value(argument)
            case "--controller": controller = try endpoint(argument)
            case "--join": joinEndpoint = try endpoint(argument)
            case "--token": token = try value(argument)
            case "--token-file": tokenFile = try value(argument)
            case "--ca": caFile = try value(argument)
            case "--node": nodeName = try value(argument)
            case "--dry-run": dryRun = true
            case "--metrics-port":
                guard let port = UInt16(try value(argument)), port > 0 else { throw UsageError(message: "--metrics-port takes 1-65535") }
                metricsPort = port
            case "--resync":
                guard let seconds = Double(try value(argument)), seconds > 0 else { throw UsageError(message: "--resync takes seconds > 0") }
                resync = seconds
            default: throw UsageError(message: "unknown argument \"\(argument)\"")
            }
        }
        if let controller {
            guard file == nil, keyFile == nil else { throw UsageError(message: "--controller replaces --desired and --key (both come from the controller and the state directory)") }
            guard nodeName != nil, caFile != nil else { throw UsageError(message: "--controller needs --node NAME and --ca CA.crt") }
            joinEndpoint = joinEndpoint ?? (controller.host, 7444)
            file = ControllerSource.desiredPath(self)
            keyFile = ControllerSource.keyPath(self)
        }
        guard file != nil else { throw UsageError(message: "--desired FILE (or --controller HOST:PORT) is required") }
    }

    /// The join token from --token or --token-file (surrounding whitespace ignored).
    func joinToken() throws -> String? {
        if let token { return token }
        guard let tokenFile else { return nil }
        guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
            throw UsageError(message: "cannot read --token-file \(tokenFile)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw UsageError(message: "--token-file \(tokenFile) is empty") }
        return token
    }

    /// An IPv4 literal is dialled as is; anything else is a DNS name (a Kubernetes
    /// Service's name, say), resolved at connect time.
    static func target(_ endpoint: (host: String, port: Int)) -> any ResolvableTarget {
        var address = in_addr()
        if inet_pton(AF_INET, endpoint.host, &address) == 1 {
            return ResolvableTargets.IPv4(addresses: [SocketAddress.IPv4(host: endpoint.host, port: endpoint.port)])
        }
        return ResolvableTargets.DNS(host: endpoint.host, port: endpoint.port)
    }

    private static func parseEndpoint(_ flag: String, _ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            throw UsageError(message: "\(flag) takes HOST:PORT, not \"\(text)\"")
        }
        return (String(text[..<colon]), port)
    }

    /// The node's key-agreement key. Errors name the file, never its contents.
    func privateKey() throws -> P256.KeyAgreement.PrivateKey? {
        guard let keyFile else { return nil }
        guard let pem = FileManager.default.contents(atPath: keyFile).flatMap({ String(data: $0, encoding: .utf8) }),
              let key = try? P256.KeyAgreement.PrivateKey(pemRepresentation: pem) else {
            throw UsageError(message: "\(keyFile) is not a readable PEM P-256 private key")
        }
        return key
    }

    func reconciler() throws -> Reconciler {
        let trust = dryRun ? nil : try bpfDirectory.map { try TrustFilters(objects: $0, pinRoot: pinRoot) }
        return Reconciler(socket: try NetlinkSocket(family: .route, namespace: namespace),
                          xfrm: try NetlinkSocket(family: .xfrm, namespace: namespace), privateKey: try privateKey(), trust: trust,
                          ledger: try SALedger(path: stateDirectory + "/sa-ledger"))
    }

    func readDesiredState() throws -> DesiredNodeState {
        guard let file, let data = FileManager.default.contents(atPath: file) else {
            throw UsageError(message: "cannot read \(file ?? "?")")
        }
        return try DesiredNodeState.decode(data)
    }
}

struct UsageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension ReconcileReport {
    /// "changed 4 objects (neighbour +0 ~0 -1, …), 4 kernel writes, 0 failed"
    func summary(dryRun: Bool) -> String {
        let total = changes.count + xfrmChanges.count + (device == nil ? 0 : 1)
        let counts = (countsByKind + xfrmCountsByKind).filter { $0.added + $0.replaced + $0.deleted > 0 }
            .map { "\($0.kind) +\($0.added) ~\($0.replaced) -\($0.deleted)" }
        return "\(dryRun ? "would change" : "changed") \(total) objects" + (counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))")
            + (dryRun ? "" : ", \(writes) kernel writes, \(failures.count) failed")
            + (refused.isEmpty ? "" : ", \(refused.count) refused")
    }
}
