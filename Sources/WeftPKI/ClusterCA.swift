import Crypto
import Foundation
import WeftFiles
import SwiftASN1
import X509

public struct PKIError: Error, CustomStringConvertible, Hashable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The cluster's root CA: an ECDSA P-256 key and a self-signed certificate, created on
/// first start in the controller's state directory (`ca.key` mode 0600, `ca.crt` 0644) and
/// reused after every restart. It signs node certificates (from CSRs, after a join token or
/// an existing certificate authenticated the node), the controller's server certificate,
/// and the audit log's checkpoints. It never sees a traffic key.
public final class ClusterCA: @unchecked Sendable {
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    public static let keyFile = "ca.key", certificateFile = "ca.crt"
    /// Node certificates live this long by default; agents renew at two thirds.
    public static let nodeLifetime: TimeInterval = 24 * 3600

    init(certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// Files whose presence means a cluster already lives in the directory: a CA is never
    /// created next to them (a missing `ca.crt` must not cost the cluster its `ca.key`).
    public static let stateFiles = ["controller.json", "audit.log"]

    /// Loads the CA from `directory`, or creates it there when the directory holds no
    /// cluster yet. Returns whether it was created. Refuses, naming the file, when only one
    /// of `ca.key` and `ca.crt` exists, when either cannot be read, and when the CA is
    /// missing but other cluster state is there: a new CA over an existing cluster would
    /// lock every node out and overwrite the old key.
    public static func loadOrCreate(directory: String, clusterName: String, now: Date = Date()) throws -> (ca: ClusterCA, created: Bool) {
        let keyPath = directory + "/" + keyFile, certificatePath = directory + "/" + certificateFile
        let keyPEM: String?, certificatePEM: String?
        do {
            keyPEM = try SecureFile.loadText(keyPath, limit: 64 << 10)
            certificatePEM = try SecureFile.loadText(certificatePath, limit: 64 << 10)
        } catch {
            throw PKIError("\(error); refusing to start rather than create a new CA over an existing one")
        }
        switch (keyPEM, certificatePEM) {
        case let (keyPEM?, certificatePEM?):
            guard let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
                  let certificate = try? Certificate(pemEncoded: certificatePEM) else {
                throw PKIError("\(directory): ca.key or ca.crt is not a P-256 PEM key / certificate")
            }
            guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else { throw PKIError("\(directory): ca.crt does not belong to ca.key") }
            return (ClusterCA(certificate: certificate, key: key), false)
        case (nil, _?):
            throw PKIError("\(keyPath) is missing but \(certificateFile) exists: restore the CA key from backup (a new CA would lock out every node)")
        case (_?, nil):
            throw PKIError("\(certificatePath) is missing but \(keyFile) exists: restore ca.crt from backup (refusing to replace the CA)")
        case (nil, nil):
            if let existing = stateFiles.first(where: { FileManager.default.fileExists(atPath: directory + "/" + $0) }) {
                throw PKIError("\(directory) holds cluster state (\(existing)) but no CA: restore ca.key and ca.crt from backup; refusing to create a new CA over an existing cluster")
            }
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { OrganizationName("Weft"); CommonName("Weft cluster CA \(clusterName)") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        try SecureFile.write(key.pemRepresentation + "\n", to: keyPath, mode: 0o600)
        try SecureFile.write(try certificate.serializeAsPEM().pemString + "\n", to: certificatePath, mode: 0o644)
        return (ClusterCA(certificate: certificate, key: key), true)
    }

    public var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    /// Signs a node's CSR after checking it: the signature (proof that the node holds the
    /// key it asks a certificate for), the subject (CN must be `node`), the SANs (DNS
    /// `node` and a P-256 key-agreement key URI). The certificate binds the name to both keys.
    public func issueNodeCertificate(csrPEM: String, node: String, lifetime: TimeInterval = ClusterCA.nodeLifetime,
                                     now: Date = Date()) throws(PKIError) -> (certificate: Certificate, keyAgreementKey: P256.KeyAgreement.PublicKey) {
        let csr: CertificateSigningRequest
        do { csr = try CertificateSigningRequest(pemEncoded: csrPEM) } catch { throw PKIError("the CSR is not a PEM certificate signing request") }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw PKIError("the CSR's signature does not verify: no proof of possession of its key")
        }
        guard let expected = try? DistinguishedName(builder: { CommonName(node) }), csr.subject == expected else {
            throw PKIError("the CSR's subject is \(csr.subject), not CN=\(node)")
        }
        let requested: SubjectAlternativeNames?
        do { requested = try csr.attributes.extensionRequest?.extensions.subjectAlternativeNames } catch {
            throw PKIError("the CSR's extension request does not decode")
        }
        guard let names = requested else { throw PKIError("the CSR requests no subject alternative names") }
        let uris = names.compactMap { if case .uniformResourceIdentifier(let uri) = $0 { uri } else { nil } }
        guard names.contains(.dnsName(node)), uris.count == 1, let kex = NodeIdentity.keyAgreementKey(fromURI: uris[0]) else {
            throw PKIError("the CSR must name DNS:\(node) and exactly one \(NodeIdentity.kexURIPrefix)… key-agreement key")
        }
        guard case .some = P256.Signing.PublicKey(csr.publicKey) else { throw PKIError("the CSR's key is not ECDSA P-256") }
        do {
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: csr.publicKey,
                notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(lifetime),
                issuer: self.certificate.subject, subject: csr.subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                    SubjectAlternativeNames([.dnsName(node), .uniformResourceIdentifier(uris[0])])
                },
                issuerPrivateKey: .init(key))
            return (certificate, kex)
        } catch {
            throw PKIError("signing the certificate failed: \(error)")
        }
    }

    /// The controller's TLS server certificate for `names` (DNS) and `addresses` (IPs).
    public func issueServerCertificate(key serverKey: P256.Signing.PrivateKey, names: [String], addresses: [String] = [],
                                       lifetime: TimeInterval = 30 * 86400, now: Date = Date()) throws -> Certificate {
        var alternatives: [GeneralName] = names.map { .dnsName($0) }
        for address in addresses {
            var bytes = [UInt8](repeating: 0, count: 4)
            if inet_pton(AF_INET, address, &bytes) == 1 { alternatives.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...]))) }
        }
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(lifetime),
            issuer: certificate.subject, subject: try DistinguishedName { CommonName(names.first ?? "weft-controller") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternatives)
            },
            issuerPrivateKey: .init(key))
    }

    /// Checks a node certificate as the controller sees it on a connection: signed by this
    /// CA, valid now, for client authentication. Returns the node name it certifies.
    public func verifyNodeCertificate(_ presented: Certificate, now: Date = Date()) throws(PKIError) -> String {
        guard certificate.publicKey.isValidSignature(presented.signature, for: presented) else {
            throw PKIError("certificate not issued by this cluster's CA")
        }
        guard presented.notValidBefore <= now, now <= presented.notValidAfter else {
            throw PKIError("certificate expired or not yet valid (valid \(presented.notValidBefore) to \(presented.notValidAfter))")
        }
        guard let names = try? presented.extensions.subjectAlternativeNames,
              let name = names.compactMap({ if case .dnsName(let n) = $0 { n } else { nil } }).first else {
            throw PKIError("certificate names no node")
        }
        return name
    }

    /// ECDSA P-256 / SHA-256 signature (DER) over `bytes`: the audit log's checkpoints.
    public func sign(_ bytes: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: bytes).derRepresentation)
    }
}
