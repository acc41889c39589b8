import WeftAgentDaemon

/// Command-line options shared by `apply` and `run`, turned into the daemon's configuration.
struct Options {
    static let usage = """
        usage: weft-agent apply --desired FILE [--key FILE] [--state-dir DIR] [--bpf DIR --pin-root DIR] [-n NETNS] [--dry-run]
               weft-agent keygen --out FILE
               weft-agent run   --desired FILE [--key FILE] [--state-dir DIR] [--bpf DIR --pin-root DIR] [-n NETNS] [--resync SECONDS] [--metrics-port PORT]
               weft-agent run   --controller HOST:PORT --node NAME --ca CA.crt [--token TOKEN | --token-file FILE] [--join HOST:PORT] [--state-dir DIR] [...]
        """

    var configuration: AgentConfiguration
    var dryRun = false

    init(_ arguments: [String]) throws {
        var file: String?, keyFile: String?, controller: Endpoint?, join: Endpoint?
        var token: String?, tokenFile: String?, caFile: String?, nodeName: String?
        var settings = AgentConfiguration(source: .file(path: "", keyFile: nil))
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw UsageError(message: "\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--desired": file = try value(argument)
            case "--key": keyFile = try value(argument)
            case "-n", "--netns": settings.namespace = try value(argument)
            case "--bpf": settings.bpfDirectory = try value(argument)
            case "--pin-root": settings.pinRoot = try value(argument)
            case "--state-dir": settings.stateDirectory = try value(argument)
            case "--controller": controller = try Endpoint(parsing: try value(argument), flag: argument)
            case "--join": join = try Endpoint(parsing: try value(argument), flag: argument)
            case "--token": token = try value(argument)
            case "--token-file": tokenFile = try value(argument)
            case "--ca": caFile = try value(argument)
            case "--node": nodeName = try value(argument)
            case "--dry-run": dryRun = true
            case "--metrics-port":
                guard let port = UInt16(try value(argument)), port > 0 else { throw UsageError(message: "--metrics-port takes 1-65535") }
                settings.metricsPort = port
            case "--resync":
                guard let seconds = Double(try value(argument)), seconds > 0, seconds < 86_400 else {
                    throw UsageError(message: "--resync takes seconds > 0 (and under a day)")
                }
                settings.resync = .milliseconds(Int64(seconds * 1000))
            default: throw UsageError(message: "unknown argument \"\(argument)\"")
            }
        }
        if let controller {
            guard file == nil, keyFile == nil else {
                throw UsageError(message: "--controller replaces --desired and --key (both come from the controller and the state directory)")
            }
            guard let nodeName, let caFile else { throw UsageError(message: "--controller needs --node NAME and --ca CA.crt") }
            settings.source = .controller(.init(endpoint: controller, joinEndpoint: join, nodeName: nodeName, caFile: caFile,
                                                token: token, tokenFile: tokenFile))
        } else {
            guard let file else { throw UsageError(message: "--desired FILE (or --controller HOST:PORT) is required") }
            settings.source = .file(path: file, keyFile: keyFile)
        }
        configuration = settings
    }
}

struct UsageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
