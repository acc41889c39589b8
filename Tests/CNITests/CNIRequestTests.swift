import Addresses
import Testing
import WeftCNI

/// The request as the runtime sends it, by the spec's rules (SPEC.md "Parameters").
@Suite struct CNIRequestTests {
    static let config = #"{"cniVersion":"1.0.0","name":"weft","type":"weft-cni","socket":"/run/weft/cni.sock","routes":["10.0.0.0/8"]}"#
    static func env(_ command: String, _ extra: [String: String] = [:]) -> [String: String] {
        ["CNI_COMMAND": command, "CNI_CONTAINERID": "abc123", "CNI_NETNS": "/var/run/netns/p1", "CNI_IFNAME": "eth0",
         "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0", "CNI_PATH": "/opt/cni/bin"].merging(extra) { $1 }
    }
    static func code(_ environment: [String: String], _ stdin: String = config) -> Int? {
        do { _ = try CNIRequest(environment: environment, stdin: Array(stdin.utf8)); return nil } catch { return error.code }
    }

    @Test func addParsesEveryField() throws {
        let request = try CNIRequest(environment: Self.env("ADD"), stdin: Array(Self.config.utf8))
        #expect(request.command == .add)
        #expect(request.attachment == CNIAttachment(containerID: "abc123", interface: "eth0"))
        #expect(request.netns == "/var/run/netns/p1")
        #expect(request.podName == "default/web-0")
        #expect(request.config.routes == [IPPrefix("10.0.0.0/8")!])
        #expect(request.config.socket == "/run/weft/cni.sock")
        #expect(request.config.mtu == nil)
    }

    @Test func defaultsRouteEverywhereAndTheStandardSocket() throws {
        let request = try CNIRequest(environment: Self.env("ADD"), stdin: Array(#"{"cniVersion":"0.4.0","name":"n","type":"weft-cni"}"#.utf8))
        #expect(request.config.routes == [IPPrefix("0.0.0.0/0")!])
        #expect(request.config.socket == CNINetworkConfig.defaultSocket)
    }

    @Test func environmentErrorsAreCode4() {
        #expect(Self.code(["CNI_COMMAND": "ADD"]) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_NETNS": ""])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_NETNS": "relative/path"])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_CONTAINERID": "-leading"])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_CONTAINERID": "a/b"])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_IFNAME": "sixteen-chars-xx"])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_IFNAME": ".."])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_IFNAME": "eth 0"])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_ARGS": "novalue"])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("FROB")) == CNIError.invalidEnvironment)
        #expect(Self.code([:]) == CNIError.invalidEnvironment)
    }

    @Test func delNeedsNoNamespace() throws {
        var environment = Self.env("DEL")
        environment["CNI_NETNS"] = nil
        #expect(try CNIRequest(environment: environment, stdin: Array(Self.config.utf8)).netns == nil)
    }

    @Test func versionsAreCheckedPerCommand() {
        #expect(Self.code(Self.env("ADD"), #"{"cniVersion":"9.9.9","name":"n","type":"t"}"#) == CNIError.incompatibleVersion)
        #expect(Self.code(Self.env("CHECK"), #"{"cniVersion":"0.3.1","name":"n","type":"t"}"#) == CNIError.incompatibleVersion)
        #expect(Self.code(Self.env("GC"), #"{"cniVersion":"1.0.0","name":"n","type":"t"}"#) == CNIError.incompatibleVersion)
        #expect(Self.code(Self.env("STATUS"), #"{"cniVersion":"1.1.0","name":"n","type":"t"}"#) == nil)
    }

    @Test func configErrorsNameTheField() throws {
        let cases: [(String, Int, String)] = [
            (#"{"cniVersion":"1.0.0","type":"t"}"#, CNIError.invalidConfig, "\"name\""),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","mtu":70000}"#, CNIError.invalidConfig, "\"mtu\""),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","mtu":true}"#, CNIError.invalidConfig, "mtu"),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","routes":["10.0.0.1/8"]}"#, CNIError.invalidConfig, "10.0.0.1/8"),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","routes":["2001:db8::/32"]}"#, CNIError.invalidConfig, "2001:db8::/32"),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","socket":"relative"}"#, CNIError.invalidConfig, "\"socket\""),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":{"ips":[{"address":"nope"}]}}"#, CNIError.invalidConfig, "nope"),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":{"ips":[{"gateway":"1.2.3.4"}]}}"#, CNIError.invalidConfig, "prevResult.ips[0].address"),
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","routes":[""]}"#, CNIError.invalidConfig, "routes"),  // scripts/fuzz cni found this crash
            (#"{"cniVersion":"1.0.0","name":"n","type":"t","routes":["10.0.0.0/"]}"#, CNIError.invalidConfig, "10.0.0.0/"),
            ("not json", CNIError.decodeFailure, "JSON"),
            ("[1,2]", CNIError.decodeFailure, "JSON object"),
        ]
        for (stdin, code, mention) in cases {
            do {
                _ = try CNIRequest(environment: Self.env("ADD"), stdin: Array(stdin.utf8))
                Issue.record("accepted \(stdin)")
            } catch {
                #expect(error.code == code, "\(stdin)")
                #expect(error.message.contains(mention), "\(error.message) should name \(mention)")
            }
        }
    }

    @Test func gcReadsValidAttachments() throws {
        let stdin = #"{"cniVersion":"1.1.0","name":"n","type":"t","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}"#
        let request = try CNIRequest(environment: ["CNI_COMMAND": "GC"], stdin: Array(stdin.utf8))
        #expect(request.config.validAttachments == [CNIAttachment(containerID: "c1", interface: "eth0")])
        let bad = #"{"cniVersion":"1.1.0","name":"n","type":"t","cni.dev/valid-attachments":[{"containerID":"../x","ifname":"eth0"}]}"#
        #expect(Self.code(["CNI_COMMAND": "GC"], bad) == CNIError.invalidEnvironment)
    }

    @Test func oversizedInputIsRefused() {
        let huge = #"{"cniVersion":"1.0.0","name":"n","type":"t","pad":""# + String(repeating: "x", count: CNINetworkConfig.maxBytes) + #""}"#
        #expect(Self.code(Self.env("ADD"), huge) == CNIError.decodeFailure)
        #expect(Self.code(Self.env("ADD", ["CNI_ARGS": String(repeating: "k=v;", count: 33)])) == CNIError.invalidEnvironment)
        #expect(Self.code(Self.env("ADD", ["CNI_PATH": String(repeating: "/", count: 5000)])) == CNIError.invalidEnvironment)
    }

    /// Every prefix of a valid config and random bytes: an error with a code, never a crash.
    @Test func truncatedAndGarbageInputThrows() {
        let bytes = Array(Self.config.utf8)
        for cut in 0..<bytes.count {
            #expect(Self.code(Self.env("ADD"), String(decoding: bytes[..<cut], as: UTF8.self)) != nil)
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let garbage = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect((try? CNIRequest(environment: Self.env("ADD"), stdin: garbage)) == nil)
        }
    }

    /// Prefix text at its edges (the empty string was a crash: scripts/fuzz cni).
    @Test func prefixTextEdges() {
        for text in ["", "/", "/24", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8/8", "x/8"] {
            #expect(IPPrefix(text) == nil, "\(text)")
        }
        #expect(IPPrefix("10.0.0.0/8") == IPPrefix(.v4(0x0A00_0000), 8))
        #expect(IPPrefix("192.0.2.1") == IPPrefix(.v4(0xC000_0201), 32))
    }
}
