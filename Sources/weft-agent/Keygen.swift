import Crypto
import Foundation

/// `weft-agent keygen --out FILE`: creates this node's P-256 key-agreement key. The private
/// key goes to FILE only (PEM, created with mode 0600, never overwritten); the public key
/// (base64 X9.63, what `keyAgreementPublicKey` carries) is printed.
func keygen(_ arguments: [String]) throws -> Int32 {
    guard arguments.count == 2, arguments[0] == "--out" else { throw UsageError(message: "usage: weft-agent keygen --out FILE") }
    let path = arguments[1]
    let key = P256.KeyAgreement.PrivateKey()
    // O_EXCL: an existing key is never replaced by accident (peers' SAs depend on it).
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw UsageError(message: "cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let pem = Array((key.pemRepresentation + "\n").utf8)
    guard pem.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == pem.count, fsync(fd) == 0 else {
        throw UsageError(message: "cannot write \(path): \(String(cString: strerror(errno)))")
    }
    print(key.publicKey.x963Representation.base64EncodedString())
    return 0
}
