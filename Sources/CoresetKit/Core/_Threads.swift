#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with a condition variable (POSIX), the lock/wait/broadcast subset of Foundation's
/// `NSCondition`. Why not Foundation: it is the only thing the engine needed from full Foundation,
/// whose loading costs ~6 MB of resident memory per process (FoundationEssentials does not).
final class _Condition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for a broadcast; the caller holds the lock (and re-checks its predicate).
    func wait() { pthread_cond_wait(cond, mutex) }
    func broadcast() { pthread_cond_broadcast(cond) }
}

/// A value one thread hands over once and others wait for (a finished thread's `Void`, a learner's
/// state at a checkpoint). Unchecked: `value` is only touched under `condition`'s lock.
final class _Promise<Value>: @unchecked Sendable {
    private let condition = _Condition()
    private var value: Value?

    func fulfil(_ v: Value) {
        condition.lock()
        value = v
        condition.broadcast()
        condition.unlock()
    }

    /// Returns the value once `fulfil` was called.
    func wait() -> Value {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}

/// Starts `body` on a new detached thread with `stackSize` bytes of stack.
func _startThread(stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> Void) {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, stackSize)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    #if canImport(Darwin)
    var thread: pthread_t? = nil
    #else
    var thread = pthread_t()
    #endif
    let rc = pthread_create(&thread, &attributes, { raw in
        #if canImport(Darwin)
        let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
        #else
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        #endif
        box.body()
        return nil
    }, context)
    if rc != 0 {
        Unmanaged<AnyObject>.fromOpaque(context).release()
        _threadStartFailed(rc)
    }
}

/// What happens when the system refuses a thread (out of memory or over the process's thread
/// limit): a message on stderr and exit status 71 (EX_OSERR), not a trap. Work already handed to
/// threads cannot be finished without them, so the process cannot go on.
func _threadStartFailed(_ rc: Int32) -> Never {
    let message = "coreset: cannot start a thread: \(String(cString: strerror(rc))) (pthread_create: \(rc)); lower --threads, or raise the process's memory or thread limits\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(71)
}
