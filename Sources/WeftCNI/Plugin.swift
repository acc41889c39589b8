/// weft-cni itself, as a function of its inputs so tests can call it: VERSION is answered
/// here; every other command is checked (so a malformed request never reaches the agent)
/// and forwarded to the agent named by the configuration's `socket`.
public enum Plugin {
    public static func run(environment: [String: String], stdin: [UInt8],
                           timeout: Duration = .seconds(60)) -> AgentWire.Reply {
        let request: CNIRequest
        do {
            request = try CNIRequest(environment: environment, stdin: stdin)
        } catch {
            return AgentWire.Reply(error: error, version: versionForErrors(stdin))
        }
        let version = request.config.cniVersion
        if request.command == .version {
            return AgentWire.Reply(exitCode: 0, output: CNIVersion.versionResult(for: version))
        }
        do {
            let client = AgentClient(socketPath: request.config.socket, timeout: timeout)
            return try client.exchange(AgentWire.Request(environment: environment, stdin: stdin))
        } catch let error where request.command == .status && error.code == CNIError.tryAgainLater {
            // STATUS has its own code for "not ready": the runtime reports the network not ready.
            return AgentWire.Reply(error: CNIError(CNIError.pluginNotAvailable, error.message, details: error.details), version: version)
        } catch {
            return AgentWire.Reply(error: error, version: version)
        }
    }

    /// The version to write an error in when the request could not be read: the one it
    /// asked for if that much is legible and supported, else the newest.
    public static func versionForErrors(_ stdin: [UInt8]) -> String {
        guard let wire = try? ConfigWire.decode(stdin), let version = wire.cniVersion,
              CNIVersion.supported.contains(version) else { return CNIVersion.newest }
        return version
    }
}
