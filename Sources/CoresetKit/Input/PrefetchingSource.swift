import Glibc

/// Runs another source's reads (typically decompression) on a thread of its own, a few chunks
/// ahead of the consumer, so decompressing and parsing overlap on two cores.
///
/// Order, restarts, errors and end of stream are passed on exactly as the inner source produced
/// them. A read still returns as soon as the inner read returned anything: nothing waits for a
/// full chunk.
///
/// - Complexity: memory is `depth` chunks of `chunkSize` bytes.
public final class PrefetchingSource: ByteSource {
    public let name: String
    public private(set) var rawBytesRead: UInt64 = 0

    struct Chunk {
        var slot: Int
        var count: Int
        var restart: StreamRestart?
        var error: CoresetError?
        var rawBytesRead: UInt64
    }

    /// State shared with the producer thread; every field is guarded by `mutex`.
    final class Shared: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var changed = pthread_cond_t()
        var filled: [Chunk] = []
        var freeSlots: [Int]
        var stop = false
        var producerDone = false
        /// Seconds the inner reads took and the bytes they gave, the first read into each slot (the decoder's
        /// set-up, the slot's first page faults) left out.
        var decodeSeconds = 0.0
        var decodedBytes = 0
        var reads = 0
        let buffers: [UnsafeMutableRawBufferPointer]
        let inner: ByteSource

        init(inner: ByteSource, depth: Int, chunkSize: Int) {
            self.inner = inner
            buffers = (0..<depth).map { _ in .allocate(byteCount: chunkSize, alignment: 16) }
            freeSlots = Array(0..<depth)
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&changed, nil)
        }

        deinit {
            for b in buffers { b.deallocate() }
            pthread_cond_destroy(&changed)
            pthread_mutex_destroy(&mutex)
        }

        func locked<T>(_ body: () -> T) -> T {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            return body()
        }

        /// Waits (with the mutex held) until `ready` holds.
        func wait(until ready: () -> Bool) {
            while !ready() { pthread_cond_wait(&changed, &mutex) }
        }

        func produce() {
            while true {
                pthread_mutex_lock(&mutex)
                wait { stop || !freeSlots.isEmpty }
                if stop {
                    producerDone = true
                    pthread_cond_broadcast(&changed)
                    pthread_mutex_unlock(&mutex)
                    return
                }
                let slot = freeSlots.removeFirst()
                pthread_mutex_unlock(&mutex)

                var chunk = Chunk(slot: slot, count: 0, restart: nil, error: nil, rawBytesRead: 0)
                let started = monotonicSeconds()
                do {
                    chunk.count = try inner.read(into: buffers[slot])
                } catch {
                    chunk.error = error
                }
                let seconds = monotonicSeconds() - started
                chunk.restart = inner.takeRestart()
                chunk.rawBytesRead = inner.rawBytesRead
                let last = chunk.count == 0 || chunk.error != nil
                pthread_mutex_lock(&mutex)
                reads += 1
                if reads > buffers.count {
                    decodeSeconds += seconds
                    decodedBytes += chunk.count
                }
                filled.append(chunk)
                if last { producerDone = true }
                pthread_cond_broadcast(&changed)
                pthread_mutex_unlock(&mutex)
                if last { return }
            }
        }
    }

    private let shared: Shared
    /// What the producer asks the inner source for in one read (its slots' size).
    private let chunkSize: Int
    private var current: Chunk?
    private var offset = 0
    private var pendingRestart: StreamRestart?
    private var ended = false

    public init(_ inner: ByteSource, chunkSize: Int = 1 << 20, depth: Int = 3) {
        self.name = inner.name
        self.chunkSize = max(chunkSize, 64)
        let shared = Shared(inner: inner, depth: max(depth, 2), chunkSize: self.chunkSize)
        self.shared = shared
        let retained = Unmanaged.passRetained(shared).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let shared = Unmanaged<Shared>.fromOpaque(arg!).takeRetainedValue()
            shared.produce()
            return nil
        }, retained)
        if rc == 0 {
            pthread_detach(tid)
        } else {
            // No thread: produce everything lazily on this one instead.
            Unmanaged<Shared>.fromOpaque(retained).release()
            shared.stop = true
            shared.producerDone = true
        }
    }

    deinit {
        // Ask the producer to stop. It may be blocked in a read of a pipe or a followed file, so
        // do not wait: it holds its own reference to the shared state and the inner source, and
        // nothing else touches them any more.
        shared.locked {
            shared.stop = true
            pthread_cond_broadcast(&shared.changed)
        }
    }

    /// Seconds the inner source's reads took on the prefetching thread and the bytes they gave (the first
    /// read into each slot left out: it sets a decoder up, or faults the slot's pages in): what
    /// decompression costs a byte.
    public var decoding: (seconds: Double, bytes: Int) {
        shared.locked { (shared.decodeSeconds, shared.decodedBytes) }
    }

    /// Ends the prefetching thread after the read it is in: the chunks it read are handed out first, in
    /// order, then reads go to the inner source on the caller's thread.
    public func stopPrefetching() {
        shared.locked {
            shared.stop = true
            pthread_cond_broadcast(&shared.changed)
        }
    }

    public func takeRestart() -> StreamRestart? {
        defer { pendingRestart = nil }
        return pendingRestart
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CoresetError) -> Int {
        if ended { return 0 }
        if current == nil {
            var chunk: Chunk! = shared.locked {
                shared.wait { !shared.filled.isEmpty || shared.producerDone }
                return shared.filled.isEmpty ? nil : shared.filled.removeFirst()
            }
            if chunk == nil, buffer.count >= chunkSize {
                // The producer could not start, or was stopped: read on this thread what it would have
                // read (one read of `chunkSize`), straight into the caller's buffer since it fits, so
                // the chunks handed out (and the batches a reader cuts from them) are the same either way.
                let n: Int
                do {
                    n = try shared.inner.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chunkSize]))
                } catch {
                    pendingRestart = shared.inner.takeRestart()
                    rawBytesRead = shared.inner.rawBytesRead
                    ended = true
                    throw error
                }
                if let restart = shared.inner.takeRestart() { pendingRestart = restart }
                rawBytesRead = shared.inner.rawBytesRead
                if n == 0 { ended = true }
                return n
            }
            if chunk == nil {
                // The same into a slot, handed out as the producer's chunks are.
                let slot = shared.locked { shared.freeSlots.removeFirst() }
                chunk = Chunk(slot: slot, count: 0, restart: nil, error: nil, rawBytesRead: 0)
                do {
                    chunk.count = try shared.inner.read(into: shared.buffers[slot])
                } catch {
                    chunk.error = error
                }
                chunk.restart = shared.inner.takeRestart()
                chunk.rawBytesRead = shared.inner.rawBytesRead
            }
            rawBytesRead = chunk.rawBytesRead
            if let restart = chunk.restart { pendingRestart = restart }
            if let error = chunk.error {
                ended = true
                throw error
            }
            if chunk.count == 0 {
                ended = true
                return 0
            }
            current = chunk
            offset = 0
        }
        let chunk = current!
        let n = min(buffer.count, chunk.count - offset)
        buffer.baseAddress!.copyMemory(from: shared.buffers[chunk.slot].baseAddress! + offset, byteCount: n)
        offset += n
        if offset == chunk.count {
            current = nil
            shared.locked {
                shared.freeSlots.append(chunk.slot)
                pthread_cond_broadcast(&shared.changed)
            }
        }
        return n
    }
}
