#if canImport(Glibc)
import Glibc
#endif

/// A supervisor may have blocked SIGTERM and SIGINT before starting a daemon (the mask is
/// inherited, and some test runners and shells block them): unblock them, or the
/// `ServiceGroup`'s graceful shutdown would never hear of a stop. Both daemons call it
/// before anything else.
public func unblockStopSignals() {
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    sigaddset(&unblocked, SIGTERM)
    sigaddset(&unblocked, SIGINT)
    sigprocmask(SIG_UNBLOCK, &unblocked, nil)
}
