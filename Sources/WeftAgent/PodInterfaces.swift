import Crypto
import Foundation
import Netlink
import WeftCNI

/// A pod's attachment to the node, Calico-style L3 (docs/cni.md#the-pods-interface):
///
///     pod netns                         node netns
///     eth0 10.244.1.5/32  <-- veth -->  weftXXXXXXXXXXX (no address)
///       169.254.1.1 lladdr <host end>     10.244.1.5 lladdr <pod end>   (both permanent)
///       169.254.1.1/32 scope link         route 10.244.1.5/32 scope link proto 0x57
///       ROUTES via 169.254.1.1
///
/// Both ends know each other's MAC, so nothing ever ARPs: the gateway address exists only
/// as the pod's next hop, no node interface holds it, and the node reaches the pod through
/// its /32 route. Blocking netlink work: callers run it on a kernel thread.
public enum PodInterfaces {
    /// The pod's gateway: link-local, the same in every pod.
    public static let gateway = IPAddress.v4(0xA9FE_0101)  // 169.254.1.1

    public struct Request: Sendable {
        public var attachment: CNIAttachment
        /// The pod's network namespace (a path).
        public var netns: String
        public var address: IPAddress
        public var mtu: UInt32
        public var routes: [IPPrefix]

        public init(attachment: CNIAttachment, netns: String, address: IPAddress, mtu: UInt32, routes: [IPPrefix]) {
            self.attachment = attachment
            self.netns = netns
            self.address = address
            self.mtu = mtu
            self.routes = routes
        }
    }

    public struct Attached: Sendable {
        public var hostName: String
        public var hostIndex: Int32
        public var hostMAC: MACAddress
        public var podMAC: MACAddress
    }

    /// A failed step, with the kernel's or the system's text.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var step: String
        public var reason: String
        /// The pod's namespace is gone (CNI's "container unknown").
        public var namespaceMissing = false
        public var description: String { "\(step): \(reason)" }
    }

    /// The node end's name: `weft` and 11 hex digits of the attachment's SHA-256, so a
    /// retried ADD, CHECK, DEL and GC all find the same device (Ownership.isPodInterface).
    public static func hostName(for attachment: CNIAttachment) -> String {
        let digest = SHA256.hash(data: Data("\(attachment.containerID)/\(attachment.interface)".utf8))
        return Ownership.podInterfacePrefix + digest.map { String(format: "%02x", $0) }.joined().prefix(11)
    }

    /// Creates the veth with its pod end directly in the pod's namespace; `beforeUse` (the
    /// pod's filters) runs on the bare veth, before either end is up or addressed, so the
    /// pod sends and receives nothing they do not see; then addresses, neighbours and routes
    /// on both ends, the node's route to the pod last, so the pod is reachable only once
    /// everything else is in place. A leftover of an earlier attempt for the same
    /// attachment is removed first.
    public static func attach(_ request: Request, nodeNamespace: String?,
                              beforeUse: (Attached) throws -> Void = { _ in }) throws(Failure) -> Attached {
        let node = try socket(nodeNamespace, "node")
        let name = hostName(for: request.attachment), ifname = request.attachment.interface
        try removeHostEnd(named: name, on: node)
        try createVeth(name, request: request, on: node)
        let host = try step("read \(name)") { try node.link(named: name) }
        let pod = try socket(request.netns, "pod")
        let podLink = try step("read \(ifname) in the pod") { try pod.link(named: ifname) }
        guard let podMAC = podLink.address, let hostMAC = host.address else { throw Failure(step: "read \(ifname)", reason: "the veth has no MAC address") }
        let attached = Attached(hostName: name, hostIndex: host.index, hostMAC: hostMAC, podMAC: podMAC)
        try step("attach the pod's filters to \(name)") { try beforeUse(attached) }
        try configurePodEnd(request, link: podLink, hostMAC: hostMAC, on: pod)
        try configureHostEnd(host, request: request, podMAC: podMAC, on: node)
        try step("add route \(request.address)/32 dev \(name)") { try node.replace(podRoute(request.address, index: host.index)) }
        return attached
    }

    /// The node end's interface index, if it exists.
    public static func hostIndex(of attachment: CNIAttachment, nodeNamespace: String?) throws(Failure) -> Int32? {
        let node = try socket(nodeNamespace, "node")
        do { return try node.link(named: hostName(for: attachment)).index } catch {
            if error.errno == .noSuchDevice { return nil }
            throw Failure(step: "read \(hostName(for: attachment))", reason: "\(error)")
        }
    }

    /// Removes the node end (the pod end goes with it). A missing one is no error.
    public static func detach(_ attachment: CNIAttachment, nodeNamespace: String?) throws(Failure) {
        try removeHostEnd(named: hostName(for: attachment), on: try socket(nodeNamespace, "node"))
    }

    static func removeHostEnd(named name: String, on node: NetlinkSocket) throws(Failure) {
        do { try node.delete(Link(name: name)) } catch {
            if error.errno == .noSuchDevice { return }
            throw Failure(step: "delete \(name)", reason: "\(error)")
        }
    }

    private static func createVeth(_ name: String, request: Request, on node: NetlinkSocket) throws(Failure) {
        let fd = open(request.netns, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw Failure(step: "open \(request.netns)", reason: String(cString: strerror(code)), namespaceMissing: code == ENOENT)
        }
        defer { close(fd) }
        var veth = Link(name: name, kind: .veth(Veth(peerName: request.attachment.interface, peerNamespaceFD: fd)))
        veth.mtu = request.mtu
        try step("create veth \(name) with \(request.attachment.interface) in \(request.netns)") { try node.add(veth) }
    }

    private static func configurePodEnd(_ request: Request, link: Link, hostMAC: MACAddress, on pod: NetlinkSocket) throws(Failure) {
        let ifname = request.attachment.interface
        let index = link.index
        // Only what changes: the dumped link's other attributes (its peer's index) are not ours to set.
        var change = Link(name: ifname)
        change.index = index
        change.mtu = request.mtu
        change.flags = [.up]
        try step("set \(ifname) up, mtu \(request.mtu)") { try pod.set(change, change: .up) }
        try step("add \(request.address)/32 to \(ifname)") { try pod.add(Address(index: index, local: IPPrefix(request.address, 32))) }
        try step("add neighbour \(gateway) on \(ifname)") { try pod.replace(Neighbour(index: index, destination: gateway, linkLayerAddress: hostMAC)) }
        var toGateway = Route(destination: IPPrefix(gateway, 32), outputIndex: index)
        toGateway.scope = .link
        try step("add route \(gateway) dev \(ifname)") { try pod.add(toGateway) }
        for prefix in request.routes {
            try step("add route \(prefix) via \(gateway)") { try pod.add(Route(destination: prefix, gateway: gateway, outputIndex: index)) }
        }
    }

    private static func configureHostEnd(_ host: Link, request: Request, podMAC: MACAddress, on node: NetlinkSocket) throws(Failure) {
        var hostUp = Link(name: host.name)
        hostUp.index = host.index
        hostUp.flags = InterfaceFlags.up
        try step("set \(host.name) up") { try node.set(hostUp, change: .up) }
        var neighbour = Neighbour(index: host.index, destination: request.address, linkLayerAddress: podMAC)
        neighbour.protocolID = Ownership.routeProtocol
        try step("add neighbour \(request.address) on \(host.name)") { try node.replace(neighbour) }
    }

    /// The node's route to a pod: through its veth, marked as Weft's.
    static func podRoute(_ address: IPAddress, index: Int32) -> Route {
        var route = Route(destination: IPPrefix(address, 32), outputIndex: index)
        route.scope = .link
        route.protocolID = Ownership.routeProtocol
        return route
    }

    static func socket(_ namespace: String?, _ side: String) throws(Failure) -> NetlinkSocket {
        do { return try NetlinkSocket(family: .route, namespace: namespace) } catch let error as NetworkNamespace.Error {
            throw Failure(step: "enter the \(side)'s network namespace", reason: "\(error)", namespaceMissing: error.errno == .noSuchFileOrDirectory)
        } catch {
            throw Failure(step: "open a netlink socket in the \(side)'s namespace", reason: "\(error)")
        }
    }

    static func step<T>(_ what: String, _ body: () throws -> T) throws(Failure) -> T {
        do { return try body() } catch { throw Failure(step: what, reason: "\(error)") }
    }
}
