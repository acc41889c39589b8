import Foundation
import Netlink
import Synchronization
import WeftCNI
import WeftFiles

/// The pod addresses this node has handed out, from its pod CIDR: one file per address in
/// `directory` (`10.244.1.5`, holding the attachment as JSON), created with O_EXCL and
/// fsync'd before the address is used. The file is the claim: two ADDs at once, or one
/// before and one after an agent crash mid-ADD, can never get the same address, and an
/// address whose file cannot be read is never handed out again (docs/cni.md).
public final class PodAddressPool: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable { case exhausted, storage }
        public var kind: Kind
        public var description: String
    }

    private struct State {
        var byAddress: [IPAddress: CNIAttachment?] = [:]  // nil: claimed, file unreadable (kept)
        var byAttachment: [CNIAttachment: IPAddress] = [:]
        var pending: Set<IPAddress> = []
        var next: UInt32 = 0
    }

    public let directory: String
    private let state = Mutex(State())
    /// Files that could not be read at start (their addresses stay taken).
    public let unreadable: [String]

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var loaded = State(), unreadable: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            guard let address = IPAddress(name), case .v4 = address else { continue }  // temporaries, strangers
            if let bytes = try? SecureFile.load("\(directory)/\(name)", limit: 4096),
               let attachment = try? JSONDecoder().decode(CNIAttachment.self, from: Data(bytes)) {
                loaded.byAddress[address] = attachment
                loaded.byAttachment[attachment] = address
            } else {
                loaded.byAddress[address] = .some(nil)
                unreadable.append(name)
            }
        }
        self.unreadable = unreadable
        state.withLock { $0 = loaded }
    }

    /// The attachment's address: the one it already holds (a repeated ADD), else a new
    /// one from `cidr`, skipping its network and broadcast addresses and `reserved`.
    public func allocate(_ attachment: CNIAttachment, in cidr: IPPrefix, reserved: Set<IPAddress> = []) throws -> IPAddress {
        let body = try JSONEncoder().encode(attachment)
        while true {
            let candidate = try state.withLock { state throws(Failure) -> (IPAddress, fresh: Bool) in
                if let held = state.byAttachment[attachment] { return (held, false) }
                let address = try Self.free(in: cidr, reserved: reserved, state: &state)
                state.pending.insert(address)
                return (address, true)
            }
            guard candidate.fresh else { return candidate.0 }
            let address = candidate.0
            let won: Bool
            do { won = try SecureFile.createExclusive(Array(body), at: path(address), mode: 0o644) } catch {
                _ = state.withLock { $0.pending.remove(address) }
                throw Failure(kind: .storage, description: "cannot record \(address) for \(attachment): \(error)")
            }
            state.withLock { state in
                state.pending.remove(address)
                // Lost: a file appeared that this pool did not know (another writer); keep it taken.
                state.byAddress[address] = .some(won ? attachment : nil)
                if won { state.byAttachment[attachment] = address }
            }
            if won { return address }
        }
    }

    /// Frees the attachment's address; nil when it held none (DEL is idempotent).
    @discardableResult
    public func release(_ attachment: CNIAttachment) throws -> IPAddress? {
        guard let address = state.withLock({ $0.byAttachment[attachment] }) else { return nil }
        try SecureFile.remove(path(address))
        state.withLock { state in
            state.byAttachment[attachment] = nil
            state.byAddress[address] = nil
        }
        return address
    }

    /// Claims whose record could not be read: no attachment can be matched to them.
    public var unownedClaims: [IPAddress] {
        state.withLock { state in state.byAddress.compactMap { $0.value == nil ? $0.key : nil }.sorted() }
    }

    /// Frees an unreadable claim (GC, once nothing on the node uses the address).
    public func releaseUnowned(_ address: IPAddress) throws {
        guard state.withLock({ $0.byAddress[address].map { $0 == nil } ?? false }) else { return }
        try SecureFile.remove(path(address))
        _ = state.withLock { $0.byAddress.removeValue(forKey: address) }
    }

    public func address(of attachment: CNIAttachment) -> IPAddress? { state.withLock { $0.byAttachment[attachment] } }

    public var allocations: [CNIAttachment: IPAddress] { state.withLock { $0.byAttachment } }

    /// Addresses taken, by anyone (including unreadable claims).
    public var takenCount: Int { state.withLock { $0.byAddress.count } }

    private func path(_ address: IPAddress) -> String { "\(directory)/\(address)" }

    /// The next free address after the last one handed out, wrapping once round the CIDR:
    /// a released address is reused as late as possible (a stale peer entry for it dies first).
    private static func free(in cidr: IPPrefix, reserved: Set<IPAddress>, state: inout State) throws(Failure) -> IPAddress {
        guard case .v4(let base) = cidr.masked.address, cidr.length >= 8, cidr.length <= 30 else {
            throw Failure(kind: .exhausted, description: "pod CIDR \(cidr) is not an IPv4 prefix from /8 to /30")
        }
        let size = UInt32(1) << (32 - UInt32(cidr.length))
        let first = base + 1, last = base + size - 2  // not the network or broadcast address
        var offset = state.next >= first && state.next <= last ? state.next - first : 0
        for _ in 0..<(size - 2) {
            let address = IPAddress.v4(first + offset)
            offset = (offset + 1) % (size - 2)
            if state.byAddress[address] == nil, !state.pending.contains(address), !reserved.contains(address) {
                state.next = first + offset
                return address
            }
        }
        throw Failure(kind: .exhausted, description: "no free address left in pod CIDR \(cidr) (\(size - 2) usable, all taken)")
    }
}
