import Netlink
import WeftCNI

extension PodInterfaces {
    /// What differs from what `attach` left, one line each; empty when everything is in place.
    public static func check(_ request: Request, nodeNamespace: String?) throws(Failure) -> [String] {
        let node = try socket(nodeNamespace, "node")
        let name = hostName(for: request.attachment)
        var problems: [String] = []
        guard let host = try? node.link(named: name) else { return ["the node end \(name) of the veth is missing"] }
        if !host.isUp { problems.append("\(name) is down") }
        let nodeRoutes = try step("dump the node's routes") { try node.dump(Route.self, family: .inet) }
        if !nodeRoutes.contains(where: { $0.destination == IPPrefix(request.address, 32) && $0.outputIndex == host.index }) {
            problems.append("the node has no route \(request.address)/32 dev \(name)")
        }
        let pod = try socket(request.netns, "pod")
        let ifname = request.attachment.interface
        guard let link = try? pod.link(named: ifname) else { return problems + ["the pod has no interface \(ifname)"] }
        if !link.isUp { problems.append("\(ifname) in the pod is down") }
        if link.mtu != request.mtu { problems.append("\(ifname) has MTU \(link.mtu.map(String.init) ?? "?"), not \(request.mtu)") }
        let addresses = try step("dump the pod's addresses") { try pod.dump(Address.self, family: .inet) }
        if !addresses.contains(where: { $0.index == link.index && $0.local == IPPrefix(request.address, 32) }) {
            problems.append("\(ifname) does not hold \(request.address)/32")
        }
        let podRoutes = try step("dump the pod's routes") { try pod.dump(Route.self, family: .inet) }
        for prefix in request.routes where !podRoutes.contains(where: {
            $0.destination == prefix && $0.gateway == gateway && $0.outputIndex == link.index && $0.table == .main
        }) {
            problems.append("the pod has no route \(prefix) via \(gateway) dev \(ifname)")
        }
        return problems
    }

    /// The node ends of pod veths present in the node's namespace, by name.
    public static func hostEnds(nodeNamespace: String?) throws(Failure) -> [String] {
        let node = try socket(nodeNamespace, "node")
        return try step("dump the node's links") { try node.dump(Link.self) }.map(\.name).filter(Ownership.isPodInterface)
    }

    /// Pod addresses the node routes to a pod veth (whoever attached it).
    public static func routedPodAddresses(nodeNamespace: String?) throws(Failure) -> Set<IPAddress> {
        let node = try socket(nodeNamespace, "node")
        let ends = Set(try step("dump the node's links") { try node.dump(Link.self) }.filter { Ownership.isPodInterface($0.name) }.map(\.index))
        let routes = try step("dump the node's routes") { try node.dump(Route.self, family: .inet) }
        return Set(routes.filter { $0.destination.length == 32 && $0.outputIndex.map(ends.contains) == true }.map(\.destination.address))
    }

    /// Removes a node end by name (GC of a veth no attachment owns).
    public static func removeHostEnd(named name: String, nodeNamespace: String?) throws(Failure) {
        try removeHostEnd(named: name, on: try socket(nodeNamespace, "node"))
    }
}
