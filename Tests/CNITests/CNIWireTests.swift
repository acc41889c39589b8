import Foundation
import Addresses
import Testing
import WeftCNI

/// What weft-cni prints and what it says to the agent: known documents, exact text.
@Suite struct CNIWireTests {
    static let result = CNIResult(
        interfaces: [.init(name: "weft0123456789a", mac: MACAddress("02:00:00:00:00:01")!),
                     .init(name: "eth0", mac: MACAddress("02:00:00:00:00:02")!, sandbox: "/var/run/netns/p1")],
        address: IPPrefix("10.244.1.5/32")!, podInterface: 1, gateway: IPAddress("169.254.1.1")!, routes: [IPPrefix("0.0.0.0/0")!])

    @Test func resultIn1_0_0() {
        #expect(Self.result.json(version: "1.0.0") == #"{"cniVersion":"1.0.0","dns":{},"interfaces":[{"mac":"02:00:00:00:00:01","name":"weft0123456789a"},{"mac":"02:00:00:00:00:02","name":"eth0","sandbox":"/var/run/netns/p1"}],"ips":[{"address":"10.244.1.5/32","gateway":"169.254.1.1","interface":1}],"routes":[{"dst":"0.0.0.0/0","gw":"169.254.1.1"}]}"#)
    }

    @Test func resultBefore1_0_0NamesTheIPVersion() {
        #expect(Self.result.json(version: "0.4.0").contains(#""interface":1,"version":"4""#))
        #expect(!Self.result.json(version: "1.1.0").contains(#""version""#))
    }

    @Test func errorDocument() {
        let error = CNIError(CNIError.tryAgainLater, "weft-agent is not running on this node; try again later", details: "connect /x: No such file or directory")
        #expect(error.json(version: "1.0.0") == #"{"cniVersion":"1.0.0","code":11,"details":"connect /x: No such file or directory","msg":"weft-agent is not running on this node; try again later"}"#)
    }

    @Test func versionAnswersLocally() {
        let reply = Plugin.run(environment: ["CNI_COMMAND": "VERSION"], stdin: Array(#"{"cniVersion":"0.4.0"}"#.utf8))
        #expect(reply.exitCode == 0)
        #expect(reply.output == #"{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"#)
        #expect(Plugin.run(environment: ["CNI_COMMAND": "VERSION"], stdin: []).exitCode == 0)
    }

    @Test func noAgentIsTryAgainLaterAndStatusIsNotAvailable() {
        let config = #"{"cniVersion":"1.1.0","name":"n","type":"weft-cni","socket":"/nonexistent/weft-test.sock"}"#
        let add = Plugin.run(environment: CNIRequestTests.env("ADD"), stdin: Array(config.utf8))
        #expect(add.exitCode == 1)
        #expect(add.output.contains(#""code":11"#))
        let status = Plugin.run(environment: ["CNI_COMMAND": "STATUS"], stdin: Array(config.utf8))
        #expect(status.output.contains(#""code":50"#))
    }

    @Test func malformedRequestNeverLeavesThePlugin() {
        let reply = Plugin.run(environment: CNIRequestTests.env("ADD", ["CNI_IFNAME": "a/b"]), stdin: Array(CNIRequestTests.config.utf8))
        #expect(reply.exitCode == 1)
        #expect(reply.output.hasPrefix(#"{"cniVersion":"1.0.0","code":4,"#))
    }

    @Test func framingRoundTripsAndRefusesOtherFormats() throws {
        let request = AgentWire.Request(environment: ["CNI_COMMAND": "ADD", "PATH": "/bin"], stdin: Array("{}".utf8))
        #expect(request.environment == ["CNI_COMMAND": "ADD"])  // only CNI_* leaves the plugin
        let frame = try AgentWire.frame(request)
        let newline = frame.firstIndex(of: 0x0a)!
        let length = try AgentWire.bodyLength(header: Array(frame[..<newline]))
        #expect(length == frame.count - newline - 1)
        #expect(try AgentWire.decodeRequest(Array(frame[(newline + 1)...])) == request)
        for header in ["weft-cni/2 10", "weft-cni/1", "weft-cni/1 -5", "weft-cni/1 0", "weft-cni/1 99999999999", "GET / HTTP/1.1"] {
            #expect(throws: CNIError.self) { try AgentWire.bodyLength(header: Array(header.utf8)) }
        }
        #expect(throws: CNIError.self) { try AgentWire.decodeRequest(Array("{\"environment\":".utf8)) }
        #expect(throws: CNIError.self) { try AgentWire.decodeReply(Array("garbage".utf8)) }
    }
}
