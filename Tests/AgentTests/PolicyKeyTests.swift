import Testing
@testable import WeftAgent
import WeftModel
import WeftTestSupport

/// weft_policy / weft_egress keys: longest-prefix entries over (identities, protocol, port bits).
@Suite("policy keys (struct weft_policy_key, port ranges as aligned blocks)")
struct PolicyKeyTests {
    /// Every port a set of blocks covers, to compare with the range it came from.
    static func covered(_ blocks: [(port: UInt16, bits: UInt32)]) -> [UInt32] {
        blocks.flatMap { block in (UInt32(block.port)...(UInt32(block.port) + (1 << (16 - block.bits)) - 1)) }
    }

    @Test("known vectors: one port, an aligned pair, an unaligned run, everything but port 0")
    func vectors() {
        #expect(PolicyKeys.blocks(80...80).map { [$0.port, UInt16($0.bits)] } == [[80, 16]])
        #expect(PolicyKeys.blocks(8000...8001).map { [$0.port, UInt16($0.bits)] } == [[8000, 15]])
        #expect(PolicyKeys.blocks(1...6).map { [$0.port, UInt16($0.bits)] } == [[1, 16], [2, 15], [4, 15], [6, 16]])
        #expect(PolicyKeys.blocks(1...65535).count == 16)
        #expect(PolicyKeys.blocks(0...65535).map { [$0.port, UInt16($0.bits)] } == [[0, 0]])
    }

    @Test("random ranges: the blocks cover exactly the range, each aligned, never more than 30")
    func randomRanges() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let a = UInt16.random(in: 0...UInt16.max, using: &rng), b = UInt16.random(in: 0...UInt16.max, using: &rng)
            let range = min(a, b)...max(a, b)
            let blocks = PolicyKeys.blocks(range)
            #expect(Self.covered(blocks) == Array(UInt32(range.lowerBound)...UInt32(range.upperBound)), "\(range)")
            #expect(blocks.allSatisfy { UInt32($0.port) % (1 << (16 - $0.bits)) == 0 } && blocks.count <= 30, "\(range)")
        }
    }

    @Test("keys: any protocol (prefix 64), ICMP (80, no port), a TCP range (80 + block bits), SCTP; an unknown protocol admits nothing")
    func keys() {
        #expect(PolicyKeys.keys(PolicyRule(source: 1, destination: 2, proto: "any")) == [[64, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]])
        #expect(PolicyKeys.keys(PolicyRule(source: 1, destination: 2, proto: "icmp", port: 9)) == [[80, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0]])
        #expect(PolicyKeys.keys(PolicyRule(source: 1, destination: 2, proto: "tcp", port: 8000, portEnd: 8003))
            == [[94, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0x1f, 0x40]])
        #expect(PolicyKeys.keys(PolicyRule(source: 1, destination: 2, proto: "sctp", port: 0)) == [[80, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 132, 0, 0, 0]])
        #expect(PolicyKeys.keys(PolicyRule(source: 1, destination: 2, proto: "gre")).isEmpty)
    }

    @Test("a state whose rules would overflow the map is refused whole, naming the map")
    func capacity() {
        // 1-65535 is 16 blocks: 16,385 rules of it need 262,160 entries.
        let rules = (0..<16_385).map { PolicyRule(source: UInt32(256 + $0), destination: 2, proto: "udp", port: 1, portEnd: 65535) }
        let error = #expect(throws: DesiredStateError.self) { try PolicyKeys.entries(rules, map: "weft_policy") }
        #expect(error?.description == "weft_policy: the rules need 262160 entries, more than its 262144")
    }

    @Test("validation: sctp is a protocol, a range needs ports to range over")
    func validation() {
        var state = sampleNodeState(peers: 1)
        state.policy = [PolicyRule(source: 1, destination: 2, proto: "sctp", port: 9),
                        PolicyRule(source: 1, destination: 2, proto: "tcp", port: 90, portEnd: 80),
                        PolicyRule(source: 1, destination: 2, proto: "icmp", port: 1, portEnd: 2),
                        PolicyRule(source: 1, destination: 2, proto: "gre")]
        #expect(state.validate() == [
            "policy[1]: portEnd 80 needs a tcp, udp or sctp rule whose port (90) is 1-80",
            "policy[2]: portEnd 2 needs a tcp, udp or sctp rule whose port (1) is 1-2",
            "policy[3].proto \"gre\" is not one of tcp, udp, sctp, icmp, any",
        ])
    }
}
