import Glibc

/// A file written in full or not at all: data goes to a temporary file beside the target, which
/// is fsync'ed and renamed over it on `commit()`. Readers never see a partial file.
public final class AtomicFile {
    public let path: String
    private let temporaryPath: String
    public let output: TextOutput
    private var committed = false

    public init(path: String) throws(CoresetError) {
        self.path = path
        self.temporaryPath = path + ".tmp-\(getpid())"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw .io(input: path, message: "cannot create \(temporaryPath): \(errnoDescription())") }
        output = TextOutput(descriptor: fd)
    }

    deinit {
        if !committed {
            close(output.descriptor)
            unlink(temporaryPath)
        }
    }

    /// Flushes, syncs and renames the temporary file over the target.
    public func commit() throws(CoresetError) {
        do { try output.flush() } catch { throw .io(input: path, message: "cannot write: \(error)") }
        if fsync(output.descriptor) != 0 { throw .io(input: path, message: "cannot write (fsync): \(errnoDescription())") }
        close(output.descriptor)
        committed = true
        if rename(temporaryPath, path) != 0 {
            let message = errnoDescription()
            unlink(temporaryPath)
            throw .io(input: path, message: "cannot replace it with \(temporaryPath): \(message)")
        }
    }
}
