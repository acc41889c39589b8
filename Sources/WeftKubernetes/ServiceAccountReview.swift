import Foundation

/// Node identity from the API: an agent joins with its pod's projected service-account
/// token (audience `weft`). The controller asks the API server who the token is
/// (TokenReview), and vouches for the join only if it is a live token of the weft-agent
/// service account, bound to a pod of that account that runs on the node the join names.
/// So a node can obtain its own certificate and no other node's, and no shared join-token
/// Secret exists. Every refusal says why (for the log and the audit, not the caller).
public struct ServiceAccountReview: Sendable {
    public struct Refusal: Error, CustomStringConvertible, Sendable { public var description: String }

    let client: KubernetesClient
    public let audience: String
    public let namespace: String
    public let serviceAccount: String
    public static let maxToken = 8 << 10

    public init(client: KubernetesClient, audience: String = "weft", namespace: String = "weft-system", serviceAccount: String = "weft-agent") {
        self.client = client
        self.audience = audience
        self.namespace = namespace
        self.serviceAccount = serviceAccount
    }

    /// Three base64url parts, the first a JSON header (`{"` is `eyJ`): a JWT, not a join
    /// token (`weft-join.ID.SECRET` has three parts too).
    public static func looksLikeJWT(_ token: String) -> Bool {
        guard token.hasPrefix("eyJ") else { return false }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(alphabet.contains) }
    }

    /// Who vouches for the join: "pod NS/NAME (uid UID)", or a refusal with the reason.
    public func review(token: String, node: String) async throws(Refusal) -> String {
        let status = try await tokenReview(token)
        guard status.authenticated == true, let user = status.user, let username = user.username else {
            throw Refusal(description: "the API server does not accept the token\(status.error.map { ": \($0)" } ?? "")")
        }
        guard status.audiences?.contains(audience) ?? false else { throw Refusal(description: "the token is not for audience \(audience)") }
        let expected = "system:serviceaccount:\(namespace):\(serviceAccount)"
        guard username == expected else { throw Refusal(description: "the token is \(username.prefix(128))'s, not \(expected)'s") }
        guard let podName = user.extra?["authentication.kubernetes.io/pod-name"]?.first,
              let podUID = user.extra?["authentication.kubernetes.io/pod-uid"]?.first else {
            throw Refusal(description: "the token is not bound to a pod (use a projected service-account token)")
        }
        let pod = try await self.pod(podName)
        guard pod.metadata.uid == podUID else { throw Refusal(description: "pod \(namespace)/\(podName) was replaced since the token was issued") }
        guard pod.spec.serviceAccountName == serviceAccount else {
            throw Refusal(description: "pod \(namespace)/\(podName) runs as \(pod.spec.serviceAccountName ?? "default"), not \(serviceAccount)")
        }
        guard pod.spec.nodeName == node else {
            throw Refusal(description: "pod \(namespace)/\(podName) runs on \(pod.spec.nodeName ?? "no node"), not on \(node)")
        }
        return "pod \(namespace)/\(podName) (uid \(podUID))"
    }

    struct TokenReviewStatus: Decodable {
        struct User: Decodable {
            var username: String?  // absent when the token is not authenticated
            var extra: [String: [String]]?
        }
        var authenticated: Bool?
        var user: User?
        var audiences: [String]?
        var error: String?
    }

    struct BoundPod: Decodable {
        struct Metadata: Decodable { var uid: String }
        struct Spec: Decodable {
            var nodeName: String?
            var serviceAccountName: String?
        }
        var metadata: Metadata
        var spec: Spec
    }

    private func tokenReview(_ token: String) async throws(Refusal) -> TokenReviewStatus {
        let request: [String: Any] = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                      "spec": ["token": token, "audiences": [audience]]]
        struct Answer: Decodable { var status: TokenReviewStatus? }
        do {
            let body = try JSONSerialization.data(withJSONObject: request)
            let answer = try await client.call("/apis/authentication.k8s.io/v1/tokenreviews", method: .POST, body: Array(body))
            guard let status = try JSONDecoder().decode(Answer.self, from: Data(answer)).status else {
                throw Refusal(description: "the TokenReview came back without a status")
            }
            return status
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(description: "the TokenReview failed: \(error)")
        }
    }

    private func pod(_ name: String) async throws(Refusal) -> BoundPod {
        do {
            let body = try await client.call("/api/v1/namespaces/\(namespace)/pods/\(name)")
            return try JSONDecoder().decode(BoundPod.self, from: Data(body))
        } catch let failure as KubernetesClient.Failure where failure.status == 404 {
            throw Refusal(description: "pod \(namespace)/\(name), to which the token is bound, does not exist")
        } catch {
            throw Refusal(description: "cannot read pod \(namespace)/\(name): \(error)")
        }
    }
}
