import Crypto
import Foundation
import SwiftASN1
import X509

/// A node's two keys and how the certificate binds them to its name: the P-256 signing key
/// (its TLS client key; the CSR is signed with it, proving possession) and the P-256
/// key-agreement key (for ECDH with peers; carried as a SAN URI
/// `urn:weft:kex:p256:<base64url X9.63>`, so the certificate names both keys and
/// `openssl x509 -text` shows it). Private keys never leave the node.
public struct NodeIdentity: @unchecked Sendable {  // immutable; the Crypto key types are not marked Sendable
    public let name: String
    public let signingKey: P256.Signing.PrivateKey
    public let keyAgreementKey: P256.KeyAgreement.PrivateKey

    public init(name: String, signingKey: P256.Signing.PrivateKey = .init(), keyAgreementKey: P256.KeyAgreement.PrivateKey = .init()) {
        self.name = name
        self.signingKey = signingKey
        self.keyAgreementKey = keyAgreementKey
    }

    public static let kexURIPrefix = "urn:weft:kex:p256:"

    public static func kexURI(_ key: P256.KeyAgreement.PublicKey) -> String {
        kexURIPrefix + key.x963Representation.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The key-agreement key a SAN URI names, or nil.
    public static func keyAgreementKey(fromURI uri: String) -> P256.KeyAgreement.PublicKey? {
        guard uri.hasPrefix(kexURIPrefix) else { return nil }
        var text = String(uri.dropFirst(kexURIPrefix.count)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let raw = Data(base64Encoded: text) else { return nil }
        return try? P256.KeyAgreement.PublicKey(x963Representation: raw)
    }

    /// A CSR for this node: subject CN = name, requested SANs = DNS name + the kex URI,
    /// signed by the signing key.
    public func certificateSigningRequest() throws -> CertificateSigningRequest {
        let extensions = try Certificate.Extensions {
            SubjectAlternativeNames([.dnsName(name), .uniformResourceIdentifier(Self.kexURI(keyAgreementKey.publicKey))])
        }
        let attributes = try CertificateSigningRequest.Attributes([.init(ExtensionRequest(extensions: extensions))])
        return try CertificateSigningRequest(version: .v1, subject: try DistinguishedName { CommonName(name) },
                                             privateKey: Certificate.PrivateKey(signingKey), attributes: attributes,
                                             signatureAlgorithm: .ecdsaWithSHA256)
    }

    public func certificateSigningRequestPEM() throws -> String {
        try certificateSigningRequest().serializeAsPEM().pemString
    }
}
