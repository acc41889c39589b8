import Netlink
import WeftAgent
import WeftCNI

extension CNIHandler {
    /// CHECK: the agent holds the attachment's address, the runtime's previous result
    /// names it, and the interfaces, address and routes are as ADD left them.
    func check(_ request: CNIRequest) throws(CNIError) {
        let node = try node(), attachment = request.attachment!
        guard let address = pool.address(of: attachment) else {
            throw CNIError(CNIError.checkFailed, "weft-agent holds no address for \(attachment)")
        }
        if let previous = request.config.previousAddresses, !previous.contains(IPPrefix(address, 32)) {
            throw CNIError(CNIError.checkFailed, "prevResult does not name \(address)/32, the address weft-agent holds for \(attachment)",
                           details: "prevResult: \(previous.map(\.description).joined(separator: ", "))")
        }
        let spec = PodInterfaces.Request(attachment: attachment, netns: request.netns!, address: address,
                                         mtu: request.config.mtu ?? node.mtu, routes: request.config.routes)
        let problems: [String]
        do { problems = try PodInterfaces.check(spec, nodeNamespace: namespace) } catch {
            throw CNIError(error.namespaceMissing ? CNIError.unknownContainer : CNIError.datapathFailure,
                           "cannot check \(attachment)", details: error.description)
        }
        if !problems.isEmpty {
            throw CNIError(CNIError.checkFailed, "\(attachment)'s network is not as ADD left it", details: problems.joined(separator: "; "))
        }
    }

    /// GC: every attachment the runtime no longer lists loses its address and veth; a pod
    /// veth that no attachment owns goes too, and so does an unreadable claim nothing uses.
    func gc(_ request: CNIRequest) throws(CNIError) {
        guard let valid = request.config.validAttachments.map(Set.init) else {
            throw CNIError(CNIError.invalidConfig, "GC needs \"cni.dev/valid-attachments\"")
        }
        var failures: [String] = []
        for attachment in pool.allocations.keys where !valid.contains(attachment) {
            do {
                try PodInterfaces.detach(attachment, nodeNamespace: namespace)
                if case .v4(let v4)? = pool.address(of: attachment) { try trust?.forgetPodIdentity(v4) }
                try pool.release(attachment)
                logger.info("CNI GC released an attachment", metadata: ["attachment": "\(attachment)"])
            } catch { failures.append("\(attachment): \(error)") }
        }
        do {
            // Veths first, owners after: an ADD records its address before it creates the
            // veth, so a veth of an ADD running now is always owned in the later snapshot.
            let ends = try PodInterfaces.hostEnds(nodeNamespace: namespace)
            let owned = Set(pool.allocations.keys.map(PodInterfaces.hostName(for:)))
            for name in ends where !owned.contains(name) {
                try PodInterfaces.removeHostEnd(named: name, nodeNamespace: namespace)
                logger.info("CNI GC removed a pod veth no attachment owns", metadata: ["interface": "\(name)"])
            }
            // A claim whose record is unreadable can match no listed attachment: freed
            // once no pod veth on the node is routed to its address.
            let routed = try PodInterfaces.routedPodAddresses(nodeNamespace: namespace)
            for address in pool.unownedClaims where !routed.contains(address) {
                try pool.releaseUnowned(address)
                logger.info("CNI GC released an unreadable claim", metadata: ["address": "\(address)"])
            }
            try syncPodFilters()
        } catch { failures.append("\(error)") }
        metrics.podAddresses.set(Double(pool.allocations.count))
        if !failures.isEmpty {
            throw CNIError(CNIError.datapathFailure, "GC could not clean up everything", details: failures.prefix(8).joined(separator: "; "))
        }
    }
}
