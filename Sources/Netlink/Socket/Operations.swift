/// Typed operations, each named for what the kernel does, with its iproute2 equivalent.
extension NetlinkSocket {
    /// Creates an object; fails with EEXIST if it exists (`ip route add`, `ip xfrm state add`).
    public func add<T: NetlinkObject>(_ object: T) throws(NetlinkError) { try execute(object.request(.add)) }

    /// Creates or overwrites an object (`ip route replace`, `ip xfrm state update`).
    public func replace<T: NetlinkObject>(_ object: T) throws(NetlinkError) { try execute(object.request(.replace)) }

    /// Adds another entry beside existing ones with the same key (`bridge fdb append`).
    public func append<T: NetlinkObject>(_ object: T) throws(NetlinkError) { try execute(object.request(.append)) }

    /// Removes an object (`ip route del`, `ip xfrm state delete`).
    public func delete<T: NetlinkObject>(_ object: T) throws(NetlinkError) { try execute(object.request(.delete)) }

    /// Changes a link in place (`ip link set dev NAME up mtu N`).
    public func set(_ link: Link, change: InterfaceFlags = []) throws(NetlinkError) { try execute(link.setRequest(change: change)) }

    /// One link by name (`ip link show dev NAME`); throws ENODEV if there is none.
    public func link(named name: String) throws(NetlinkError) -> Link { try get(Link.getRequest(name: name)) }
}
