import Foundation
import Yams

/// Where the API server is and how to prove who we are: a base URL, the CA that signs its
/// serving certificate, and a bearer token or a client certificate. Read from the pod's
/// service account (in-cluster) or from a kubeconfig file (its current context).
public struct KubernetesEndpoint: Sendable {
    public enum Credential: Sendable {
        case token(String)
        case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
    }

    public var server: String
    public var caPEM: [UInt8]?
    public var credential: Credential?

    public init(server: String, caPEM: [UInt8]?, credential: Credential?) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.caPEM = caPEM
        self.credential = credential
    }

    public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Kubeconfig files and credentials past this are refused before they are parsed.
    static let maximumFileSize = 1 << 20
    public static let serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The pod's own service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, its token and CA.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = serviceAccount) throws(ConfigurationError) -> KubernetesEndpoint {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"], !host.isEmpty else {
            throw ConfigurationError(description: "in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT are not set (not in a pod? use --kubeconfig FILE)")
        }
        let token = try read(directory + "/token", "the service account token")
        let ca = try read(directory + "/ca.crt", "the service account CA")
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return KubernetesEndpoint(server: "https://\(bracketed):\(port)", caPEM: ca,
                                  credential: .token(String(decoding: token, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// The current context of a kubeconfig: its cluster's server and CA, its user's token
    /// or client certificate (inline `-data` fields or files relative to the kubeconfig).
    public static func kubeconfig(_ path: String) throws(ConfigurationError) -> KubernetesEndpoint {
        let text = String(decoding: try read(path, "the kubeconfig"), as: UTF8.self)
        let config: Kubeconfig
        do { config = try YAMLDecoder().decode(Kubeconfig.self, from: text) } catch {
            throw ConfigurationError(description: "\(path): not a kubeconfig (\(error))")
        }
        let contextName = config.currentContext ?? config.contexts?.first?.name
        guard let context = config.contexts?.first(where: { $0.name == contextName })?.context else {
            throw ConfigurationError(description: "\(path): no context \"\(contextName ?? "")\"")
        }
        guard let cluster = config.clusters?.first(where: { $0.name == context.cluster })?.cluster else {
            throw ConfigurationError(description: "\(path): context \(contextName ?? "") names no known cluster \"\(context.cluster)\"")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func file(_ name: String?, _ data: String?, _ what: String) throws(ConfigurationError) -> [UInt8]? {
            if let data {
                guard let bytes = Data(base64Encoded: data) else { throw ConfigurationError(description: "\(path): \(what) is not base64") }
                return Array(bytes)
            }
            guard let name else { return nil }
            return try read(name.hasPrefix("/") ? name : base + "/" + name, "\(what) of \(path)")
        }
        let ca = try file(cluster.certificateAuthority, cluster.certificateAuthorityData, "certificate-authority")
        var credential: Credential?
        if let user = config.users?.first(where: { $0.name == context.user })?.user {
            if let token = user.token { credential = .token(token) }
            else if let tokenFile = user.tokenFile { credential = .token(String(decoding: try read(tokenFile, "token-file"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
            else if let cert = try file(user.clientCertificate, user.clientCertificateData, "client-certificate"),
                    let key = try file(user.clientKey, user.clientKeyData, "client-key") {
                credential = .clientCertificate(certificatePEM: cert, keyPEM: key)
            }
        }
        return KubernetesEndpoint(server: cluster.server, caPEM: ca, credential: credential)
    }

    static func read(_ path: String, _ what: String) throws(ConfigurationError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ConfigurationError(description: "cannot read \(what) at \(path)") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maximumFileSize + 1)) ?? Data()
        guard data.count <= maximumFileSize else { throw ConfigurationError(description: "\(what) at \(path) is larger than \(maximumFileSize) bytes") }
        return Array(data)
    }
}

/// The parts of a kubeconfig file the endpoint needs.
struct Kubeconfig: Decodable {
    struct Cluster: Decodable {
        var server: String
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        enum CodingKeys: String, CodingKey {
            case server, certificateAuthority = "certificate-authority", certificateAuthorityData = "certificate-authority-data"
        }
    }
    struct Context: Decodable {
        var cluster: String
        var user: String
    }
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?, clientCertificateData: String?
        var clientKey: String?, clientKeyData: String?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile = "tokenFile"
            case clientCertificate = "client-certificate", clientCertificateData = "client-certificate-data"
            case clientKey = "client-key", clientKeyData = "client-key-data"
        }
    }
    var currentContext: String?
    var clusters: [NamedCluster]?
    var contexts: [NamedContext]?
    var users: [NamedUser]?
    struct NamedCluster: Decodable { var name: String; var cluster: Cluster }
    struct NamedContext: Decodable { var name: String; var context: Context }
    struct NamedUser: Decodable { var name: String; var user: User }
    enum CodingKeys: String, CodingKey { case currentContext = "current-context", clusters, contexts, users }
}
