struct ControllerOptions {
    var cluster = ""
    var stateDirectory = "/var/lib/weft-controller"
    var listen: (host: String, port: Int) = ("0.0.0.0", 7443)
    var joinListen: (host: String, port: Int) = ("0.0.0.0", 7444)
    /// Addresses agents use to reach the controller: they go into its server certificate.
    var advertise = ["127.0.0.1"]
    /// /metrics and /healthz (Prometheus, probes).
    var metricsListen: (host: String, port: Int) = ("0.0.0.0", 9465)
    /// The operator's socket (weftctl status | revoke | rotate); default under the state dir.
    var adminSocket: String?

    /// --advertise entries that are IPv4 addresses (certificate IP SANs) and names (DNS SANs).
    var advertisedAddresses: [String] { advertise.filter(Self.isIPv4) }
    var advertisedNames: [String] { ["weft-controller", "localhost"] + advertise.filter { !Self.isIPv4($0) } }
    var adminSocketPath: String { adminSocket ?? stateDirectory + "/admin/admin.sock" }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    struct UsageError: Error, CustomStringConvertible { var description: String }

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            return next
        }
        func endpoint(_ flag: String) throws -> (String, Int) {
            let text = try value(flag)
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
                throw UsageError(description: "\(flag) takes HOST:PORT, not \"\(text)\"")
            }
            return (String(text[..<colon]), port)
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--cluster": cluster = try value(argument)
            case "--state-dir": stateDirectory = try value(argument)
            case "--listen": listen = try endpoint(argument)
            case "--join-listen": joinListen = try endpoint(argument)
            case "--advertise": advertise = try value(argument).split(separator: ",").map(String.init)
            case "--metrics-listen": metricsListen = try endpoint(argument)
            case "--admin-socket": adminSocket = try value(argument)
            default: throw UsageError(description: "unknown argument \"\(argument)\"")
            }
        }
        guard !cluster.isEmpty else { throw UsageError(description: "--cluster FILE is required") }
    }
}
