#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A process-wide "stop soon" flag set by SIGINT/SIGTERM, so readers end the stream cleanly and
/// everything accepted so far is flushed before exiting with 130 (SIGINT) or 143 (SIGTERM).
///
/// Every `RecordReader.next()` checks the flag, so a stream that never ends (an endless pipe) or a
/// long file stops at the next batch; a read blocked on a pipe is woken within `pollInterval`.
public enum Interruption {
    private static let flag = Atomic<Bool>(false)
    private static let received = Atomic<Int32>(0)

    /// True once an interrupt was received (or `request()` was called).
    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// The signal that asked to stop (SIGINT when `request()` was called without one), or 0.
    public static var signal: Int32 { requested ? (received.load(ordering: .relaxed) == 0 ? SIGINT : received.load(ordering: .relaxed)) : 0 }

    /// The exit status for an interrupted command: 128 + the signal (130 for SIGINT, 143 for SIGTERM).
    public static var exitCode: Int32 { 128 + signal }

    /// How long a read blocked on a pipe or terminal waits before it looks at the flag again.
    public static let pollInterval: Int32 = 100  // milliseconds

    /// Asks every reader to stop at the next opportunity.
    public static func request(signal: Int32 = 0) {
        if signal != 0 { _ = received.compareExchange(expected: 0, desired: signal, ordering: .relaxed) }
        flag.store(true, ordering: .relaxed)
    }

    /// Installs SIGINT and SIGTERM handlers without SA_RESTART, so a blocked `read()` returns EINTR.
    public static func installSignalHandlers() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { sig in Interruption.request(signal: sig) }
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
        Glibc.signal(SIGPIPE, SIG_IGN)
    }
}
