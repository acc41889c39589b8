import Addresses

/// ADD's success result: the two veth ends, the pod's address and its routes through the
/// gateway, in the shape of the request's spec version.
public struct CNIResult: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var mac: MACAddress
        /// The pod's network namespace; nil for the host end.
        public var sandbox: String?
        public init(name: String, mac: MACAddress, sandbox: String? = nil) {
            self.name = name
            self.mac = mac
            self.sandbox = sandbox
        }
    }

    public var interfaces: [Interface]
    /// The pod's address (a /32: it reaches everything through the gateway).
    public var address: IPPrefix
    /// The index in `interfaces` of the pod end.
    public var podInterface: Int
    public var gateway: IPAddress
    public var routes: [IPPrefix]

    public init(interfaces: [Interface], address: IPPrefix, podInterface: Int, gateway: IPAddress, routes: [IPPrefix]) {
        self.interfaces = interfaces
        self.address = address
        self.podInterface = podInterface
        self.gateway = gateway
        self.routes = routes
    }

    public func json(version: String) -> String {
        var ip: [String: Any] = ["address": address.description, "gateway": gateway.description, "interface": podInterface]
        if CNIVersion.listsIPVersion(version) { ip["version"] = "4" }
        let interfaces = interfaces.map { interface -> [String: Any] in
            var object: [String: Any] = ["name": interface.name, "mac": interface.mac.description]
            if let sandbox = interface.sandbox { object["sandbox"] = sandbox }
            return object
        }
        return JSONText.encode([
            "cniVersion": version,
            "interfaces": interfaces,
            "ips": [ip],
            "routes": routes.map { ["dst": $0.description, "gw": gateway.description] },
            "dns": [String: Any](),
        ])
    }
}
