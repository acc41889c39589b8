import Netlink

/// A pod as the pods' filters know it: the node end of its veth, and the address and MAC
/// of its end. Read from the kernel, not from a record: the node end's permanent, Weft-marked
/// neighbour entry (`PodInterfaces.configureHostEnd`) holds exactly the pod's address and MAC.
public struct PodEndpoint: Hashable, Sendable {
    public var hostIndex: Int32
    public var hostName: String
    public var address: IPAddress
    public var mac: MACAddress

    public init(hostIndex: Int32, hostName: String, address: IPAddress, mac: MACAddress) {
        self.hostIndex = hostIndex
        self.hostName = hostName
        self.address = address
        self.mac = mac
    }
}

extension PodInterfaces {
    /// Every pod veth on the node with its pod's IPv4 address and MAC; a veth without a
    /// Weft neighbour (an ADD still running) is left out.
    public static func endpoints(nodeNamespace: String?) throws(Failure) -> [PodEndpoint] {
        let node = try socket(nodeNamespace, "node")
        let ends = try step("dump the node's links") { try node.dump(Link.self) }.filter { Ownership.isPodInterface($0.name) }
        let neighbours = try step("dump the node's neighbours") { try node.dump(Neighbour.self, family: .inet) }
        var byIndex: [Int32: Neighbour] = [:]
        for n in neighbours where n.protocolID == Ownership.routeProtocol && n.state.contains(.permanent) && n.linkLayerAddress != nil {
            byIndex[n.index] = n
        }
        return ends.compactMap { end in
            guard let n = byIndex[end.index], let mac = n.linkLayerAddress, n.destination.family == .inet else { return nil }
            return PodEndpoint(hostIndex: end.index, hostName: end.name, address: n.destination, mac: mac)
        }
    }
}
