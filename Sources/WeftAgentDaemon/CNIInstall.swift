import Foundation
import Logging
import Netlink
import ServiceLifecycle
import WeftCNI
import WeftFiles

/// Puts weft-cni and its conflist where the node's container runtime looks (as Calico's
/// and Flannel's install containers do), once the CNI socket listens and the node has its
/// desired state: the runtime reports the node's network ready only from then on. On
/// graceful shutdown the conflist goes again (the binary stays: a runtime may be running
/// it), so a node whose agent is gone, because the DaemonSet was deleted, is NotReady
/// instead of failing every pod; an agent restart puts it back within its start.
public struct CNIInstall: Sendable {
    public var confDirectory: String
    public var binDirectory: String
    /// The weft-cni executable to copy (default: next to the running weft-agent).
    public var plugin: String
    /// The routes pods get (nil: 0.0.0.0/0).
    public var routes: [IPPrefix]?
    public static let conflistName = "10-weft.conflist"

    public init(confDirectory: String, binDirectory: String, plugin: String? = nil, routes: [IPPrefix]? = nil) {
        self.confDirectory = confDirectory
        self.binDirectory = binDirectory
        self.plugin = plugin ?? (Self.ownExecutable() as NSString).deletingLastPathComponent + "/weft-cni"
        self.routes = routes
    }

    public var conflistPath: String { "\(confDirectory)/\(Self.conflistName)" }

    /// The running executable's path, however it was started (a bare name found on PATH
    /// included): /proc/self/exe.
    static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The conflist for weft-cni on `socket`.
    public func conflist(socket: String) -> String {
        var plugin: [String: Any] = ["type": "weft-cni", "socket": socket]
        if let routes { plugin["routes"] = routes.map(\.description) }
        let object: [String: Any] = ["cniVersion": "1.0.0", "name": "weft", "plugins": [plugin]]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Copies the plugin (temporary file, then rename: a runtime never runs half a binary)
    /// and writes the conflist atomically.
    func install(socket: String) throws {
        guard let bytes = try SecureFile.load(plugin, limit: 512 << 20) else {
            throw DaemonError("CNI install: the plugin \(plugin) does not exist (--cni-plugin)")
        }
        try SecureFile.write(bytes, to: "\(binDirectory)/weft-cni", mode: 0o755)
        try SecureFile.write(conflist(socket: socket), to: conflistPath, mode: 0o644)
    }

    /// Removes the conflist if it is still the one this agent wrote.
    func uninstall(socket: String) {
        guard SecureFile.read(conflistPath) == conflist(socket: socket) else { return }
        try? SecureFile.remove(conflistPath)
    }
}

/// `CNIInstall` as a service of the agent's group.
struct CNIInstallService: Service {
    let install: CNIInstall
    let socket: String
    let desired: DesiredStateBox
    let logger: Logger

    func run() async throws {
        // The CNI server listens from the daemon's start; wait for the desired state.
        while desired.current == nil {
            do { try await Task.sleep(for: .milliseconds(200)) } catch { return }
            if Task.isShuttingDownGracefully { return }
        }
        // Retried until it works: until then the node's network is not ready, which is right.
        while true {
            do {
                try install.install(socket: socket)
                logger.info("CNI installed", metadata: ["conflist": "\(install.conflistPath)", "bin": "\(install.binDirectory)/weft-cni"])
                break
            } catch {
                logger.error("CNI install failed; the node's network stays not ready; retrying in 5 s", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: .seconds(5)) } catch { return }
            if Task.isShuttingDownGracefully { return }
        }
        try? await gracefulShutdown()
        install.uninstall(socket: socket)
        logger.info("CNI conflist removed", metadata: ["conflist": "\(install.conflistPath)"])
    }
}
