import Crypto
import Foundation

/// The node's key-agreement private key, read from a PEM file (`weft-agent --key`,
/// `weftctl diff --key`).
public enum KeyFile {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Errors name the file, never its contents.
    public static func keyAgreementKey(_ path: String) throws -> P256.KeyAgreement.PrivateKey {
        guard let pem = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }),
              let key = try? P256.KeyAgreement.PrivateKey(pemRepresentation: pem) else {
            throw Error(description: "\(path) is not a readable PEM P-256 private key")
        }
        return key
    }
}
