import Foundation
import Testing
@testable import CoresetKit
import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// Issue 28: messages say what happened, in the user's terms, naming the path and the option.
@Suite struct MessageTests {
    /// A zstd frame written without a known size, so its header asks for a 2^28-byte window.
    static func largeWindowFrame(_ text: String) -> [UInt8] {
        let src = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(src.count) + 64)
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 28)
        var written = 0
        src.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { o in
                let half = s.count / 2
                var input = ZSTD_inBuffer(src: s.baseAddress, size: half, pos: 0)
                var output = ZSTD_outBuffer(dst: o.baseAddress, size: o.count, pos: 0)
                _ = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_continue)
                input = ZSTD_inBuffer(src: s.baseAddress! + half, size: s.count - half, pos: 0)
                precondition(ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end) == 0)
                written = output.pos
            }
        }
        return Array(out[0..<written])
    }

    @Test func aFrameWithATooLargeWindowSaysSoAndNamesTheOption() {
        let dir = TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent("long.zst")
        TestSupport.write(Self.largeWindowFrame(String(repeating: "1 1:1\n", count: 100)), to: file)
        let r = TestSupport.readAll([.file(file.path)])
        #expect(r.records.isEmpty)
        let message = r.error?.description ?? ""
        #expect(message.contains("the zstd frame needs more window memory than the 128 MiB allowed"), "\(message)")
        #expect(message.contains("--zstd-window-log"))
        #expect(!message.contains("corrupt"))
        var o = ReaderOptions()
        o.zstdWindowLog = 28
        let allowed = TestSupport.readAll([.file(file.path)], options: o)
        #expect(allowed.error == nil)
        #expect(allowed.records.count == 100)
    }

    @Test func aDuplicateIndexIsNamedAsWritten() {
        let oneBased = TestSupport.parse("1 3:1 1:2 3:4\n")
        #expect(oneBased.diagnostics.first?.contains(":1: duplicate feature index 3") == true, "\(oneBased.diagnostics)")
        let zeroBased = TestSupport.parse("1 3:1 0:2 3:4\n") { $0.zeroBasedIndices = true }
        #expect(zeroBased.diagnostics.first?.contains(":1: duplicate feature index 3") == true, "\(zeroBased.diagnostics)")
    }

    @Test func aFullDiskIsASentenceNamingTheFile() throws {
        let path = TestSupport.temporaryDirectory().appendingPathComponent("out.svm").path
        let file = try AtomicFile(path: path)
        // The temporary file's descriptor now writes to /dev/full: every write is ENOSPC.
        let full = open("/dev/full", O_WRONLY)
        try #require(full >= 0)
        #expect(dup2(full, file.output.descriptor) >= 0)
        close(full)
        try? file.output.write("1:1 1:1\n")
        do {
            try file.commit()
            Issue.record("a commit to a full disk succeeded")
        } catch {
            #expect(error.description == "\(path): cannot write: No space left on device", "\(error.description)")
        }
    }
}
