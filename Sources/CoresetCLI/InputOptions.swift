import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CoresetKit

extension RecordFormat: ExpressibleByArgument {}

/// How records are read: shared by every command that consumes a stream.
struct InputOptions: ParsableArguments {
    @Argument(help: "Input files, read in order (zstd, gzip or plain, told by magic bytes). None or '-' reads stdin.")
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("Follow a growing file like `tail -F` (appends, rotation, truncation).", valueName: "file"))
    var follow: String?

    @Option(name: .long, help: "Stop following after this many seconds without new data (default: until interrupted).")
    var followIdleExit: Double?

    @Option(name: .shortAndLong, help: "Record format: \(RecordFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: RecordFormat = .libsvm

    @Flag(name: .long, help: "Stop at the first bad record with exit code 65 (default: skip, count and report it).")
    var strict = false

    @Flag(name: .long, help: "LIBSVM feature indices and JSON Lines \"indices\" start at 0 (default: 1).")
    var zeroBased = false

    @Flag(name: .long, help: "Labels are real-valued targets (regression).")
    var regression = false

    @Option(name: .long, help: "CSV: the label column, by header name or zero-based position (default: a column named label/target/class/y, else the first).")
    var labelColumn: String?

    @Option(name: .long, help: "CSV: whether the first line is a header: yes, no or auto.")
    var header: String = "auto"

    @Option(name: .long, help: "CSV field delimiter (one character; 'tab' for a tab).")
    var delimiter: String = ","

    @Option(name: .long, help: "VW and text: bits of the hashed feature space (default: 18 for VW; 13 for text, the widest that selection handles as a dense matrix, about 20x faster than 18 on logs at equal summary quality).")
    var hashBits: Int?

    @OptionGroup(title: "Text (log lines)") var text: TextFormatOptions

    @Option(name: .long, help: "Largest number of features: a record with a (zero-based) index at or above it is a bad record (VW: at least 2^hash-bits).")
    var maxDimension: Int = 1 << 24

    @Option(name: .long, help: "Bytes asked of each read (default 1 MiB; 64 bytes to 1 GiB).")
    var chunkSize: Int = 1 << 20

    @Option(name: .long, help: "How many bad records to describe on stderr (all are counted).")
    var maxReported: Int = 10

    @Option(name: .long, help: "zstd: accept frames whose window is up to 2^N bytes (default 27: 128 MiB, as zstd; up to 31 for `zstd --long=31` files). The window is memory the decoder holds.")
    var zstdWindowLog: Int = 27

    @Flag(name: .long, help: "Decompress on the parsing thread instead of a thread of its own.")
    var noPrefetch = false

    @Flag(name: .long, help: "Parse on one thread (default: the second half of each chunk on a second thread, when there are two cores).")
    var noParallelParsing = false

    func validate() throws {
        if follow != nil && !files.isEmpty { throw ValidationError("give either files or --follow, not both") }
        if !["auto", "yes", "no"].contains(header) { throw ValidationError("--header must be yes, no or auto") }
        if delimiter != "tab" && delimiter.utf8.count != 1 { throw ValidationError("--delimiter must be one character") }
        if let hashBits, !(1...32).contains(hashBits) { throw ValidationError("--hash-bits must be between 1 and 32") }
        if !(64...(1 << 30)).contains(chunkSize) { throw ValidationError("--chunk-size must be between 64 bytes and 1 GiB (1073741824)") }
        if !(10...31).contains(zstdWindowLog) { throw ValidationError("--zstd-window-log must be between 10 and 31") }
        if maxReported < 0 { throw ValidationError("--max-reported must be at least 0") }
        if let t = followIdleExit, !(t >= 0 && t.isFinite) { throw ValidationError("--follow-idle-exit must be a non-negative number of seconds") }
        if format != .text && text.isUsed { throw ValidationError("the text options go with --format text") }
        if !(1...(1 << 32)).contains(maxDimension) { throw ValidationError("--max-dimension must be between 1 and 2^32") }
    }

    var inputs: [InputSpec] {
        if let follow { return [.follow(follow)] }
        return files.map { $0 == "-" ? .stdin : .file($0) }
    }

    var readerOptions: ReaderOptions {
        var o = ReaderOptions()
        o.format = format
        o.strict = strict
        o.zeroBasedIndices = zeroBased
        o.regression = regression
        o.hashBits = hashBits ?? (format == .text ? 13 : 18)
        o.chunkSize = chunkSize
        o.maxDimension = maxDimension
        o.maxReported = maxReported
        o.followIdleTimeout = followIdleExit
        o.prefetch = !noPrefetch
        o.parallelParsing = !noParallelParsing
        o.zstdWindowLog = zstdWindowLog
        o.text = text.textOptions
        o.csv = CSVOptions(
            header: header == "auto" ? nil : header == "yes",
            labelColumn: labelColumn,
            delimiter: delimiter == "tab" ? 0x09 : delimiter.utf8.first!)
        return o
    }
}

/// Fails with `CoresetError.io` (exit 74) unless every named file can be opened for reading, so
/// a command fails before it reads a stream or replaces an output, not after.
func checkReadable(_ paths: [String?]) throws(CoresetError) {
    for case let path? in paths where path != "-" {
        var st = stat()
        if stat(path, &st) != 0 { throw .io(input: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            throw .io(input: path, message: "is a directory")
        case S_IFREG:
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw .io(input: path, message: "cannot open: \(String(cString: strerror(errno)))") }
            close(fd)
        default:
            // A named pipe must not be opened and closed here: a writer waiting on it would be
            // let through, then meet a pipe without a reader.
            if access(path, R_OK) != 0 { throw .io(input: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        }
    }
}

extension InputOptions {
    /// The input files and `more` (a followed file is not checked: like `tail -F`, it may appear later).
    func checkReadable(_ more: String?...) throws(CoresetError) {
        try CoresetCLI.checkReadable(files.map { Optional($0) } + more)
    }
}

/// Runs a command body, turning errors into a message on stderr and a sysexits code.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as CoresetError {
        writeDiagnostic("coreset: \(e)")
        throw ExitCode(e.exitCode)
    } catch OutputError.closed {
        // Downstream closed the pipe: a clean stop.
        return
    } catch let OutputError.failed(message) {
        writeDiagnostic("coreset: <stdout>: cannot write: \(message)")
        throw ExitCode(74)
    }
    if Interruption.requested { throw ExitCode(Interruption.exitCode) }
}

/// Worker threads a command accepts: four per core available. More would only compete for the
/// same cores, and tens of thousands of threads exhaust the process's memory or thread limits.
let maxThreads = 4 * max(1, ProcessInfo.processInfo.activeProcessorCount)

extension AtomicFile {
    /// Runs `body` on the file's output; a failed write (a full disk, say) is an error naming the file.
    func writing(_ body: (TextOutput) throws -> Void) throws {
        do {
            try body(output)
        } catch let OutputError.failed(message) {
            throw CoresetError.io(input: path, message: "cannot write: \(message)")
        }
    }
}
