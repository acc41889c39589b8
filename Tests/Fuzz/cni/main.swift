// libFuzzer target: what reaches the agent's CNI socket (scripts/fuzz). The first byte
// picks the layer: the framing header, a request body (AgentWire), or the network
// configuration a runtime passes on stdin with a fixed CNI_* environment (CNIRequest),
// and a reply as weft-cni reads it. Every input must end in a value or a CNIError.
import Foundation

let environments: [[String: String]] = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"].map {
    ["CNI_COMMAND": $0, "CNI_CONTAINERID": "c0ffee", "CNI_NETNS": "/var/run/netns/p", "CNI_IFNAME": "eth0",
     "CNI_ARGS": "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p"]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCNI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch selector % 4 {
    case 0:
        _ = try? AgentWire.bodyLength(header: Array(body.prefix(AgentWire.maxHeader + 8)))
    case 1:
        if let request = try? AgentWire.decodeRequest(body) {
            _ = try? CNIRequest(environment: request.environment, stdin: Array(request.stdin))
        }
    case 2:
        let environment = environments[Int(selector / 4) % environments.count]
        if let request = try? CNIRequest(environment: environment, stdin: body), let attachment = request.attachment {
            _ = attachment.description
        }
        _ = Plugin.versionForErrors(body)
    default:
        _ = try? AgentWire.decodeReply(body)
    }
    return 0
}
