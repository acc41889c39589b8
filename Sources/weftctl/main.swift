import WeftCtlKit
#if canImport(Glibc)
import Glibc
#endif

// A parent may have blocked signals before spawning us (test runners and some
// supervisors do, and the mask is inherited): unblock them and restore the default
// actions, so Ctrl-C and SIGTERM stop `weftctl monitor` as they stop `ip monitor`.
var unblocked = sigset_t()
sigemptyset(&unblocked)
sigprocmask(SIG_SETMASK, &unblocked, nil)
signal(SIGINT, SIG_DFL)
signal(SIGTERM, SIG_DFL)

exit(WeftCtl.main(Array(CommandLine.arguments.dropFirst())))
