import Crypto
import Foundation
import Netlink
import WeftAgent

/// What the agent daemon needs to know, from whatever parsed it (the `weft-agent`
/// executable's options, a test).
public struct AgentConfiguration: Sendable {
    /// Controller mode: the node listener, the join listener, the cluster CA to trust,
    /// this node's name, and the join token (first start only; a file keeps it out of the
    /// process list).
    public struct Controller: Sendable {
        public var endpoint: Endpoint
        public var joinEndpoint: Endpoint
        public var nodeName: String
        public var caFile: String
        public var token: String?
        public var tokenFile: String?

        public init(endpoint: Endpoint, joinEndpoint: Endpoint? = nil, nodeName: String, caFile: String,
                    token: String? = nil, tokenFile: String? = nil) {
            self.endpoint = endpoint
            self.joinEndpoint = joinEndpoint ?? Endpoint(host: endpoint.host, port: 7444)
            self.nodeName = nodeName
            self.caFile = caFile
            self.token = token
            self.tokenFile = tokenFile
        }

        /// The token from `token` or `tokenFile` (surrounding whitespace ignored).
        public func joinToken() throws -> String? {
            if let token { return token }
            guard let tokenFile else { return nil }
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw DaemonError("cannot read --token-file \(tokenFile)")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw DaemonError("--token-file \(tokenFile) is empty") }
            return token
        }
    }

    public enum Source: Sendable {
        /// The desired state in a file, with the node's key-agreement key (PEM) if peers encrypt.
        case file(path: String, keyFile: String?)
        case controller(Controller)
    }

    public var source: Source
    public var namespace: String?
    /// Weft's BPF objects (scripts/build-bpf; `TrustProgram.all`): with it the trust filters are
    /// attached and their maps (pinned under `pinRoot`) filled.
    public var bpfDirectory: String?
    public var pinRoot = Ownership.bpfPinRoot
    /// What must survive the agent: the SA ledger; in controller mode also the keys,
    /// certificate and last desired state (docs/desired-state.md).
    public var stateDirectory = "/var/lib/weft"
    public var resync: Duration = .seconds(30)
    /// /metrics and /healthz (loopback by default; port 0: any free port).
    public var metricsHost = "127.0.0.1"
    public var metricsPort: UInt16 = 9464
    /// weft-cni's socket (docs/cni.md); nil: no CNI server. Pod addresses are recorded
    /// under `stateDirectory`/ipam.
    public var cniSocket: String?
    public var ipamDirectory: String { stateDirectory + "/ipam" }
    /// How long weft-cni ADD waits for the controller to name a new pod's identity.
    public var cniIdentityWait: Duration = .seconds(10)
    /// Where to install weft-cni and its conflist (with `cniSocket`); nil: not installed.
    public var cniInstall: CNIInstall?
    /// How often the kernel threads look up from a blocking receive for a stop.
    public var kernelPollInterval: Duration = .seconds(1)

    public init(source: Source) { self.source = source }

    /// The reconciler for this node. `dryRun`: no trust filters (a plan loads nothing).
    public func makeReconciler(privateKey: P256.KeyAgreement.PrivateKey?, dryRun: Bool = false) throws -> Reconciler {
        let trust = dryRun ? nil : try bpfDirectory.map { try TrustFilters(objects: $0, pinRoot: pinRoot) }
        return Reconciler(socket: try NetlinkSocket(family: .route, namespace: namespace),
                          xfrm: try NetlinkSocket(family: .xfrm, namespace: namespace), privateKey: privateKey, trust: trust,
                          ledger: try SALedger(path: stateDirectory + "/sa-ledger"))
    }

    /// A key-agreement private key from a PEM file, when one is named.
    public static func privateKey(file: String?) throws -> P256.KeyAgreement.PrivateKey? {
        try file.map(KeyFile.keyAgreementKey)
    }
}
