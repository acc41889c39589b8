import Netlink
import Testing

/// Truncated, misaligned and garbage input must throw a WireError, never trap.
@Suite("malformed input throws, never crashes")
struct RobustnessTests {
    static let replyFixtures = [
        "link-dump-reply-1", "link-dump-reply-2", "addr-dump-reply-1", "neigh-dump-reply", "fdb-dump-reply-1",
        "route-dump-reply-1", "xfrm-policy-dump-reply-1", "xfrm-state-add-aead", "xfrm-state-add-cbc",
        "link-add-vxlan-eexist-error-reply", "route-add-invalid-gw-error-reply",
    ]

    /// Every decoder Weft has, applied to one message; errors are the expected outcome.

    @Test("every prefix of every captured message", arguments: replyFixtures)
    func truncations(fixture: String) throws {
        let messages = try Fixture(fixture).messages()
        #expect(!messages.isEmpty)
        for message in messages {
            let payload = Array(message.payload)
            var failures = 0
            for length in 0..<payload.count {
                let cut = Message(header: message.header, payload: payload[0..<length])
                decodeAsEveryKind(cut)
                if (try? decodeAsItsType(cut)) == nil { failures += 1 }
            }
            // A cut through the fixed header can never decode as the message's own type.
            #expect(failures >= min(payload.count, 12), "\(fixture)")
        }
    }

    /// Decodes with the decoder that matches the message type.
    func decodeAsItsType(_ message: Message) throws {
        switch message.header.type {
        case .newLink: _ = try Link(decoding: message)
        case .newAddr: _ = try Address(decoding: message)
        case .newNeigh where FDBEntry.isMember(message): _ = try FDBEntry(decoding: message)
        case .newNeigh: _ = try Neighbour(decoding: message)
        case .newRoute: _ = try Route(decoding: message)
        case .error: _ = try ErrorMessage(decoding: message)
        case .xfrmNewPolicy: _ = try XfrmPolicy(decoding: message)
        default: _ = try XfrmState(decoding: message)
        }
    }

    @Test("a buffer cut anywhere splits or throws")
    func splitTruncated() throws {
        let bytes = try Fixture("link-dump-reply-1").bytes
        for length in stride(from: 0, to: bytes.count, by: 7) {
            switch Result(catching: { () throws(WireError) in try Message.split(bytes[0..<length]) }) {
            case .success(let messages): #expect(messages.reduce(0) { $0 + $1.payload.count + 16 } <= length)
            case .failure(let error): #expect(error.context == "nlmsghdr")
            }
        }
    }

    @Test("misaligned: the same bytes at every offset inside a larger buffer")
    func misaligned() throws {
        let bytes = try Fixture("xfrm-policy-get-reply").bytes
        for offset in 0..<8 {
            let shifted = [UInt8](repeating: 0, count: offset) + bytes
            let messages = try Message.split(shifted[offset...])
            let policy = try XfrmPolicy(decoding: try #require(messages.first))
            #expect(policy.direction == .out)
        }
    }

    @Test("attribute lengths that lie are named in the error")
    func lyingAttributeLength() throws {
        // ifinfomsg + an IFLA_IFNAME that claims 200 bytes but has 8.
        var payload = [UInt8](repeating: 0, count: 16)
        payload += [200, 0, 3, 0, 0x77, 0x65, 0x66, 0x74]
        let message = Message(header: MessageHeader(type: .newLink, flags: []), payload: payload[...])
        let error = try #require(throws: WireError.self) { try Link(decoding: message) }
        #expect(error.description == "malformed link: attribute type 3 has length 200, past the 8 bytes left")
        let tiny = Message(header: MessageHeader(type: .newLink, flags: []), payload: (payload[0..<16] + [2, 0, 3, 0])[...])
        #expect(throws: WireError.self) { try Link(decoding: tiny) }
    }

    @Test("random garbage: 20,000 buffers through every decoder")
    func fuzz() throws {
        var generator = SplitMix64(seed: 0x5745_4654)
        var seeds = try Self.replyFixtures.map { try Fixture($0).bytes }
        seeds.append([])
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            if bytes.isEmpty || round % 3 == 0 {
                bytes = (0..<Int.random(in: 0..<400, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            if let messages = try? Message.split(bytes) {
                messages.forEach(decodeAsEveryKind)
            }
            // The payload alone, under every message type.
            for type: MessageType in [.newLink, .newAddr, .newNeigh, .newRoute, .error, .done, .xfrmNewSA, .xfrmNewPolicy, .xfrmDelSA, .xfrmDelPolicy, .xfrmExpire] {
                decodeAsEveryKind(Message(header: MessageHeader(type: type, flags: [.capped, .ackTLVs]), payload: bytes[...]))
            }
        }
    }
}

/// A small deterministic generator, so a fuzz failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
