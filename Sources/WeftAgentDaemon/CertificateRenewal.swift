import Foundation
import ServiceLifecycle
import WeftControlAPI
import X509

/// Renews the node certificate at two thirds of its life, with the same keys; at once when
/// this boot made a new incarnation and the certificate predates it (the renewal carries
/// the incarnation, and the peers' keys follow it: the old SAs died with the old boot, and
/// the ledger refuses the old keys). A failed renewal is retried every 30 s.
public struct CertificateRenewal: Service {
    let link: ControllerLink
    /// Tell the controller about the incarnation now (a reboot, not a first join).
    let announce: Bool
    let retry: Duration

    public init(link: ControllerLink, announceIncarnation: Bool, retry: Duration = .seconds(30)) {
        self.link = link
        announce = announceIncarnation
        self.retry = retry
    }

    public func run() async throws {
        // A shutdown cancels the wait for the next renewal: that is a normal end, not an error.
        await cancelWhenGracefulShutdown { await renewForever() }
    }

    private func renewForever() async {
        var announce = announce
        while !Task.isCancelled {
            guard let pem = link.credentials.certificatePEM, let certificate = try? Certificate(pemEncoded: pem) else { return }
            if !announce {
                let life = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
                let due = certificate.notValidBefore.addingTimeInterval(life * 2 / 3)
                guard (try? await Task.sleep(for: .seconds(max(5, due.timeIntervalSinceNow)))) != nil else { return }
            }
            do {
                try await renew(reason: announce ? "new incarnation" : nil)
                announce = false
            } catch {
                guard !Task.isCancelled else { return }
                link.logger.warning("renewal failed; retrying", metadata: ["error": "\(error)"])
                guard (try? await Task.sleep(for: retry)) != nil else { return }
            }
        }
    }

    private func renew(reason: String?) async throws {
        let credentials = link.credentials
        var request = Weft_V1_RenewRequest()
        request.csrPem = try credentials.identity.certificateSigningRequestPEM()
        request.incarnation = credentials.incarnation
        let sent = request
        let renewed = try await link.withControl { try await $0.renew(sent).certificatePem }
        try credentials.store(certificate: renewed)
        link.noteExpiry()
        link.logger.info("certificate renewed",
                         metadata: reason.map { ["reason": "\($0)", "incarnation": "\(credentials.incarnation)"] } ?? [:])
    }
}
