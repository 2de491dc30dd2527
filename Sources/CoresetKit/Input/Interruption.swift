#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A process-wide "stop soon" flag set by SIGINT/SIGTERM, so readers end the stream cleanly and
/// everything accepted so far is flushed before exiting with 130.
public enum Interruption {
    private static let flag = Atomic<Bool>(false)

    /// True once an interrupt was received (or `request()` was called).
    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Asks every reader to stop at the next opportunity.
    public static func request() { flag.store(true, ordering: .relaxed) }

    /// Installs SIGINT and SIGTERM handlers without SA_RESTART, so a blocked `read()` returns EINTR.
    public static func installSignalHandlers() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interruption.request() }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A parent may have started us with these blocked (the mask is inherited): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        // A closed downstream pipe is reported by write() as EPIPE instead of killing us.
        signal(SIGPIPE, SIG_IGN)
    }
}
