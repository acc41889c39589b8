import Foundation
import Logging
import Netlink
import WeftAgent
import WeftCNI

/// The agent's side of every CNI command weft-cni forwards. Synchronous and blocking
/// (netlink, fsync): `CNIServer` runs it on its own kernel threads. A request is checked
/// whole before anything changes; a failed ADD leaves neither an address nor a veth
/// behind (docs/cni.md).
struct CNIHandler: Sendable {
    let pool: PodAddressPool
    let desired: DesiredStateBox
    /// The node's network namespace (nil: the agent's own).
    let namespace: String?
    /// The pods' filters to attach to each new veth; nil: none (no `--bpf`).
    let trust: TrustFilters?
    /// How long ADD waits for the controller to name a new pod's identity (`podIdentities`).
    var identityWait: Duration = .seconds(10)
    let metrics: AgentMetrics
    let logger: Logger

    func handle(_ wire: AgentWire.Request) -> AgentWire.Reply {
        let started = ContinuousClock.now
        let request: CNIRequest
        do { request = try CNIRequest(environment: wire.environment, stdin: Array(wire.stdin)) } catch {
            logger.warning("CNI request refused", metadata: ["error": "\(error)"])
            metrics.cniRequest(command: wire.environment["CNI_COMMAND"] ?? "", failed: true, seconds: 0)
            return AgentWire.Reply(error: error, version: Plugin.versionForErrors(Array(wire.stdin)))
        }
        let reply: AgentWire.Reply
        var failure: CNIError?
        do { reply = AgentWire.Reply(exitCode: 0, output: try run(request)) } catch {
            failure = error
            reply = AgentWire.Reply(error: error, version: request.config.cniVersion)
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        metrics.cniRequest(command: request.command.rawValue, failed: failure != nil, seconds: seconds)
        log(request, failure: failure, seconds: seconds)
        return reply
    }

    private func run(_ request: CNIRequest) throws(CNIError) -> String {
        switch request.command {
        case .version: return CNIVersion.versionResult(for: request.config.cniVersion)
        case .add: return try add(request)
        case .del: try del(request)
        case .check: try check(request)
        case .status: _ = try node(notReadyCode: CNIError.pluginNotAvailable)
        case .gc: try gc(request)
        }
        return ""
    }

    /// What ADD needs from the node's desired state.
    struct NodeNetwork {
        var podCIDR: IPPrefix
        var mtu: UInt32
        var reserved: Set<IPAddress>
    }

    func node(notReadyCode: Int = CNIError.tryAgainLater) throws(CNIError) -> NodeNetwork {
        guard let state = desired.current else {
            throw CNIError(notReadyCode, "weft-agent has no desired state for this node yet; try again later")
        }
        guard let cidr = IPPrefix(state.node.podCIDR), cidr.address.family == .inet else {
            throw CNIError(notReadyCode, "this node's pod CIDR \"\(state.node.podCIDR)\" is not an IPv4 prefix")
        }
        let reserved = Set([IPAddress(state.node.vtepAddress)].compactMap { $0 })
        return NodeNetwork(podCIDR: cidr.masked, mtu: state.node.mtu, reserved: reserved)
    }

    private func add(_ request: CNIRequest) throws(CNIError) -> String {
        let node = try node(), attachment = request.attachment!
        let held = pool.address(of: attachment) != nil
        let address: IPAddress
        do { address = try pool.allocate(attachment, in: node.podCIDR, reserved: node.reserved) } catch let error as PodAddressPool.Failure {
            throw CNIError(error.kind == .exhausted ? CNIError.addressesExhausted : CNIError.ioFailure, "cannot allocate a pod address", details: error.description)
        } catch {
            throw CNIError(CNIError.ioFailure, "cannot allocate a pod address", details: "\(error)")
        }
        let spec = PodInterfaces.Request(attachment: attachment, netns: request.netns!, address: address,
                                         mtu: request.config.mtu ?? node.mtu, routes: request.config.routes)
        do { try admit(request, address: address) } catch {
            if !held { _ = try? pool.release(attachment) }
            throw error
        }
        do {
            // The filters on the bare veth: the pod sends and receives nothing they did not see.
            let attached = try PodInterfaces.attach(spec, nodeNamespace: namespace) { attached in
                try trust?.attachPod(PodEndpoint(hostIndex: attached.hostIndex, hostName: attached.hostName, address: address, mac: attached.podMAC),
                                     namespace: namespace)
            }
            metrics.podAddresses.set(Double(pool.allocations.count))
            return CNIResult(interfaces: [.init(name: attached.hostName, mac: attached.hostMAC),
                                          .init(name: attachment.interface, mac: attached.podMAC, sandbox: spec.netns)],
                             address: IPPrefix(address, 32), podInterface: 1, gateway: PodInterfaces.gateway,
                             routes: spec.routes).json(version: request.config.cniVersion)
        } catch {
            try? PodInterfaces.detach(attachment, nodeNamespace: namespace)
            if case .v4(let v4) = address { try? trust?.forgetPodIdentity(v4) }
            if !held { _ = try? pool.release(attachment) }
            throw CNIError(error.namespaceMissing ? CNIError.unknownContainer : CNIError.datapathFailure,
                           "cannot attach \(attachment)", details: error.description)
        }
    }

    /// Its identity into the maps before the pod exists: policy holds from its first packet.
    private func admit(_ request: CNIRequest, address: IPAddress) throws(CNIError) {
        guard let trust, case .v4(let v4) = address, let pod = request.podName, let identity = try identity(of: pod) else { return }
        do { try trust.admitPod(v4, pod: pod, identity: identity) } catch {
            throw CNIError(CNIError.datapathFailure, "cannot give \(address) pod \(pod)'s identity \(identity)", details: "\(error)")
        }
        logger.info("pod identity in weft_ipcache before its first packet", metadata: ["pod": "\(pod)", "address": "\(address)", "identity": "\(identity)"])
    }

    /// The identity the node's desired state names for `pod`, waiting up to `identityWait`
    /// for a state that names it (the controller learns of a pod when it is scheduled, ADD
    /// may come first). nil: the controller sends no `podIdentities` (before 1.4, or a
    /// file): the pod is identity 0 until its ipcache entry comes, as before.
    func identity(of pod: String) throws(CNIError) -> UInt32? {
        let deadline = ContinuousClock.now + identityWait
        while true {
            guard let state = desired.current, let table = state.podIdentities else { return nil }
            if let identity = table[pod] { return identity }
            guard ContinuousClock.now < deadline else {
                throw CNIError(CNIError.tryAgainLater, "pod \(pod) has no identity in this node's desired state (revision \(state.revision)) yet",
                               details: "the controller names a pod's identity once it sees the pod scheduled here; the runtime retries the ADD")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Idempotent: a container never seen, a namespace already gone, a second DEL all succeed.
    private func del(_ request: CNIRequest) throws(CNIError) {
        let attachment = request.attachment!
        do {
            let index = try PodInterfaces.hostIndex(of: attachment, nodeNamespace: namespace)
            try PodInterfaces.detach(attachment, nodeNamespace: namespace)
            if let index { try trust?.forgetPod(hostIndex: index) }
            if case .v4(let v4)? = pool.address(of: attachment) { try trust?.forgetPodIdentity(v4) }
        } catch {
            throw CNIError(CNIError.datapathFailure, "cannot remove \(attachment)'s interface", details: "\(error)")
        }
        do { try pool.release(attachment) } catch {
            throw CNIError(CNIError.ioFailure, "cannot release \(attachment)'s address", details: "\(error)")
        }
        metrics.podAddresses.set(Double(pool.allocations.count))
    }

    /// Attaches the pods' filters to every pod veth on the node and refills their entries
    /// (an agent started with `--bpf` after pods were attached, or upgraded); forgets
    /// entries of veths that are gone.
    func syncPodFilters() throws {
        guard let trust else { return }
        let writes = try trust.syncPods(try PodInterfaces.endpoints(nodeNamespace: namespace), namespace: namespace)
        if writes > 0 { logger.info("pod filters brought in line", metadata: ["writes": "\(writes)"]) }
    }

    private func log(_ request: CNIRequest, failure: CNIError?, seconds: Double) {
        var metadata: Logger.Metadata = ["command": "\(request.command.rawValue)", "ms": "\(Int((seconds * 1000).rounded()))"]
        if let attachment = request.attachment { metadata["attachment"] = "\(attachment)" }
        if let pod = request.podName { metadata["pod"] = "\(pod)" }
        if let attachment = request.attachment, let address = pool.address(of: attachment) { metadata["address"] = "\(address)" }
        if let failure {
            metadata["error"] = "\(failure)"
            logger.warning("CNI \(request.command.rawValue) failed", metadata: metadata)
        } else if request.command != .status && request.command != .version {
            logger.info("CNI \(request.command.rawValue)", metadata: metadata)
        }
    }
}
