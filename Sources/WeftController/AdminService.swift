import Foundation
import GRPCCore
import WeftControlAPI

/// The operator's calls (`weftctl status | revoke | rotate | token create`), served only on the admin
/// socket: a Unix socket, mode 0600 in a 0700 directory, so whoever can open it is root or
/// the controller's own user on the controller's host (`kubectl exec` in a cluster).
/// Revocations and rotations are written to the audit log by the plane, as any other;
/// Status reads only.
public struct AdminService: Weft_V1_Admin.SimpleServiceProtocol {
    let plane: ControlPlane

    public init(plane: ControlPlane) { self.plane = plane }

    public func status(request: Weft_V1_StatusRequest, context: ServerContext) async throws -> Weft_V1_StatusResponse {
        await StatusMessage.make(plane)
    }

    public func revoke(request: Weft_V1_RevokeRequest, context: ServerContext) async throws -> Weft_V1_RevokeResponse {
        guard !request.node.isEmpty else { throw RPCError(code: .invalidArgument, message: "revoke needs a node name") }
        do {
            let changed = try await plane.revoke(request.node)
            var response = Weft_V1_RevokeResponse()
            response.revoked = changed != nil
            response.nodesUpdated = UInt32(changed?.count ?? 0)
            return response
        } catch let failure as ControlPlane.Failure {
            throw RPCError(failure)
        } catch {
            throw RPCError(code: .internalError, message: "revocation not recorded: \(error)")
        }
    }

    /// Token lifetimes an operator may ask for: a minute to a month.
    static let tokenLifetimes: ClosedRange<UInt32> = 60...(30 * 86_400)

    public func createToken(request: Weft_V1_CreateTokenRequest, context: ServerContext) async throws -> Weft_V1_CreateTokenResponse {
        do { try RequestLimits.checkNodeName(request.node) } catch { throw RPCError(error) }
        guard Self.tokenLifetimes.contains(request.ttlSeconds) else {
            throw RPCError(code: .invalidArgument, message: "ttl_seconds: \(request.ttlSeconds) is not within 60 s to 30 days")
        }
        do {
            let made = try await plane.issueToken(node: request.node, ttl: TimeInterval(request.ttlSeconds))
            var response = Weft_V1_CreateTokenResponse()
            response.token = made.token
            response.id = made.id
            response.expiresUnix = Int64(made.expires.timeIntervalSince1970)
            return response
        } catch {
            // The error names the store or the audit log, never a secret.
            throw RPCError(code: .internalError, message: "token not created: \(error)")
        }
    }

    public func rotate(request: Weft_V1_RotateRequest, context: ServerContext) async throws -> Weft_V1_RotateResponse {
        var response = Weft_V1_RotateResponse()
        do { response.started = try await plane.rotate() } catch {
            throw RPCError(code: .internalError, message: "rotation not started: \(error)")
        }
        response.targetEpoch = await plane.status().targetEpoch
        return response
    }
}

/// `ControlPlane.status()` as the wire message (Control.Status and Admin.Status).
enum StatusMessage {
    static func make(_ plane: ControlPlane, only node: String? = nil) async -> Weft_V1_StatusResponse {
        let status = await plane.status(only: node)
        var response = Weft_V1_StatusResponse()
        response.currentEpoch = status.currentEpoch
        response.targetEpoch = status.targetEpoch
        response.nodes = status.nodes.map { node in
            var entry = Weft_V1_NodeStatus()
            entry.name = node.name
            entry.desiredRevision = node.desiredRevision
            entry.appliedRevision = node.appliedRevision
            entry.connected = node.connected
            entry.certificateExpiresUnix = Int64(node.certificateExpires?.timeIntervalSince1970 ?? 0)
            entry.inboundEpoch = node.inboundEpoch
            entry.outboundEpoch = node.outboundEpoch
            entry.revoked = node.revoked
            entry.joined = node.joined
            entry.pendingSinceUnixMs = node.pendingSince.map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0
            entry.failedChanges = node.failures?.first.map { failure in
                var change = Weft_V1_ChangeFailure()
                (change.verb, change.kind, change.object) = (failure.verb, failure.kind, failure.object)
                (change.errno, change.message) = (failure.errno, failure.message)
                return change
            } ?? []
            entry.failedChangeCount = UInt32(clamping: node.failures?.total ?? 0)
            return entry
        }
        return response
    }
}
