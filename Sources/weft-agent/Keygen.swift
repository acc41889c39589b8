import ArgumentParser
import Crypto
import Foundation

/// `weft-agent keygen --out FILE`: creates this node's P-256 key-agreement key. The private
/// key goes to FILE only (PEM, created with mode 0600, never overwritten); the public key
/// (base64 X9.63, what `keyAgreementPublicKey` carries) is printed.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create this node's key-agreement key in FILE (0600, never overwritten); print the public key.")

    @Option(help: ArgumentHelp("Where the private key goes (must not exist).", valueName: "FILE"))
    var out: String

    struct Failure: Error, CustomStringConvertible { var description: String }

    func run() throws {
        let key = P256.KeyAgreement.PrivateKey()
        // O_EXCL: an existing key is never replaced by accident (peers' SAs depend on it).
        let fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(out): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let pem = Array((key.pemRepresentation + "\n").utf8)
        guard pem.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == pem.count, fsync(fd) == 0 else {
            throw Failure(description: "cannot write \(out): \(String(cString: strerror(errno)))")
        }
        print(key.publicKey.x963Representation.base64EncodedString())
    }
}
