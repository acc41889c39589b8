import Crypto
import Foundation
import Netlink
import WeftModel

/// The XFRM objects that encrypt the overlay, derived from the desired state and this
/// node's key-agreement private key. Per encrypting peer:
///
/// | object | selector / template |
/// |---|---|
/// | outbound SA  | node → peer, SPI = `outbound.spi`, key derived with this node as source |
/// | inbound SA   | peer → node, SPI = `inbound.spi`, key derived with the peer as source; output-mark = peer's mark |
/// | out policy   | UDP dport 4789 node/32 → peer/32: encrypt with the outbound SA |
/// | in policy    | UDP dport 4789 peer/32 → node/32: level required, so plaintext VXLAN from the peer is dropped |
///
/// VXLAN traffic has destination port 4789 and a hashed source port in both directions,
/// hence `dport` in both selectors. All carry reqid 0x57000000 + peer index (Weft's range).
public struct DesiredEncryption: Hashable, Sendable {
    public var states: [XfrmState] = []
    public var policies: [XfrmPolicy] = []

    public static let aead = "rfc4106(gcm(aes))"

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ state: DesiredNodeState, privateKey: P256.KeyAgreement.PrivateKey?, cache: SharedSecretCache? = nil) throws {
        guard state.cluster.encryption else { return }
        let node = state.node
        guard let local = IPAddress(node.underlay) else { throw Error(description: "node.underlay \"\(node.underlay)\" is not an address") }
        let lifetime = Self.lifetime(state.cluster.saLimits ?? .default)
        var used: Set<SharedSecretCache.Entry> = []
        defer { cache?.retainOnly(used) }
        for (i, peer) in state.peers.enumerated() where peer.encrypt {
            guard let privateKey else { throw Error(description: "peers[\(i)] (\(peer.name)) must encrypt, but the agent has no key-agreement key (--key)") }
            guard let outPlan = peer.activeOutbound, !peer.activeInbound.isEmpty else {
                throw Error(description: "peers[\(i)] (\(peer.name)) must encrypt but has no outbound/inbound SA plan")
            }
            guard let encoded = peer.keyAgreementPublicKey else { throw Error(description: "peers[\(i)].keyAgreementPublicKey is missing") }
            guard let remote = IPAddress(peer.underlay) else { throw Error(description: "peers[\(i)].underlay \"\(peer.underlay)\" is not an address") }
            let reqid = Ownership.reqid(peerIndex: peer.index)
            let port = state.cluster.port
            func key(_ plan: SAPlan, outbound: Bool) throws -> SecretBytes {
                let (source, destination) = outbound ? (node.name, peer.name) : (peer.name, node.name)
                let (from, to) = outbound ? (local, remote) : (remote, local)
                let context = TrafficKeys.Context(
                    clusterID: state.cluster.id, epoch: plan.epoch, spi: plan.spi, source: source, destination: destination,
                    sourceIncarnation: (outbound ? node.incarnation : peer.incarnation) ?? "",
                    destinationIncarnation: (outbound ? peer.incarnation : node.incarnation) ?? "",
                    sourceAddress: from.description, destinationAddress: to.description)
                used.insert(SharedSecretCache.Entry(peerKey: encoded, context: context))
                let derive = {
                    guard let raw = Data(base64Encoded: encoded), let publicKey = try? P256.KeyAgreement.PublicKey(x963Representation: raw) else {
                        throw Error(description: "peers[\(i)].keyAgreementPublicKey is not a base64 P-256 public key")
                    }
                    return try TrafficKeys.derive(privateKey: privateKey, peerPublicKey: publicKey, context: context)
                }
                return try cache?.key(peerKey: encoded, context: context, derive: derive) ?? derive()
            }

            var out = Self.sa(from: local, to: remote, spi: outPlan.spi, reqid: reqid, key: try key(outPlan, outbound: true), port: port)
            out.replayWindow = 0
            out.lifetime = lifetime
            states.append(out)
            // Both inbound generations during a rotation: the peer may send with either.
            for inPlan in peer.activeInbound {
                var inbound = Self.sa(from: remote, to: local, spi: inPlan.spi, reqid: reqid, key: try key(inPlan, outbound: false), port: port)
                inbound.outputMark = Ownership.mark(peerIndex: peer.index)
                inbound.lifetime = lifetime
                states.append(inbound)
            }
            policies += [Self.policy(.out, from: local, to: remote, reqid: reqid, port: port),
                         Self.policy(.in, from: remote, to: local, reqid: reqid, port: port)]
        }
    }

    static func lifetime(_ limits: SALimits) -> XfrmLifetime {
        var lifetime = XfrmLifetime()
        lifetime.softPacketLimit = limits.softPackets
        lifetime.hardPacketLimit = limits.hardPackets
        lifetime.softByteLimit = limits.softBytes ?? XfrmLifetime.infinite
        lifetime.hardByteLimit = limits.hardBytes ?? XfrmLifetime.infinite
        return lifetime
    }

    static func sa(from source: IPAddress, to destination: IPAddress, spi: UInt32, reqid: UInt32, key: SecretBytes, port: UInt16) -> XfrmState {
        var sa = XfrmState(source: source, destination: destination, spi: spi, reqid: reqid)
        sa.aead = XfrmAlgorithm(name: aead, key: key, lengthBits: 128)
        sa.replayWindow = 32
        sa.selector = XfrmSelector(source: IPPrefix(source, UInt8(source.bitWidth)), destination: IPPrefix(destination, UInt8(destination.bitWidth)),
                                   protocolID: .udp, destinationPort: port)
        return sa
    }

    static func policy(_ direction: XfrmDirection, from source: IPAddress, to destination: IPAddress, reqid: UInt32, port: UInt16) -> XfrmPolicy {
        let selector = XfrmSelector(source: IPPrefix(source, UInt8(source.bitWidth)), destination: IPPrefix(destination, UInt8(destination.bitWidth)),
                                    protocolID: .udp, destinationPort: port)
        var policy = XfrmPolicy(selector: selector, direction: direction, templates: [XfrmTemplate(source: source, destination: destination, reqid: reqid)])
        policy.priority = Ownership.xfrmPolicyPriority
        return policy
    }
}
