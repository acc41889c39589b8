import Foundation
import Testing
@testable import WeftKubernetes

/// The pure side of joins with service-account tokens: which tokens go to the API server,
/// and how its answers read (the review itself runs against the real API server in
/// scripts/test-kubernetes.sh).
@Suite struct ServiceAccountReviewTests {
    @Test func onlyJWTsAreReviewed() {
        #expect(ServiceAccountReview.looksLikeJWT("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsid2VmdCJdfQ.c2lnbmF0dXJl"))
        for token in ["weft-join.4eb2b66c.0123456789abcdef0123456789abcdef", "eyJa.b", "eyJa..c", ".b.c", "eyJa.b.c.d", "eyJa.b+.c", "eyJa.b.c=", "a.b.c", ""] {
            #expect(!ServiceAccountReview.looksLikeJWT(token), "\(token)")
        }
    }

    @Test func answersAsTheAPIServerWritesThem() throws {
        // Refused: no user name (the API server sends an empty user).
        let refused = #"{"kind":"TokenReview","status":{"user":{},"error":"[invalid bearer token, token audiences [\"other\"] is invalid for the target audiences [\"weft\"]]"}}"#
        struct Answer: Decodable { var status: ServiceAccountReview.TokenReviewStatus }
        let no = try JSONDecoder().decode(Answer.self, from: Data(refused.utf8)).status
        #expect(no.authenticated == nil && no.user?.username == nil && no.error?.contains("audiences") == true)
        // Accepted, bound to a pod.
        let accepted = #"{"status":{"authenticated":true,"user":{"username":"system:serviceaccount:weft-system:weft-agent","uid":"u","groups":["system:serviceaccounts"],"extra":{"authentication.kubernetes.io/pod-name":["agent-x"],"authentication.kubernetes.io/pod-uid":["1234"]}},"audiences":["weft"]}}"#
        let yes = try JSONDecoder().decode(Answer.self, from: Data(accepted.utf8)).status
        #expect(yes.authenticated == true && yes.user?.extra?["authentication.kubernetes.io/pod-name"] == ["agent-x"] && yes.audiences == ["weft"])
    }
}
