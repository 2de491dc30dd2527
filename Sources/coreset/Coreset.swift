import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct Coreset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coreset",
        abstract: "Turn a stream of training records into a weighted coreset and learn from it, live.",
        version: "0.1.0",
        subcommands: [RunCommand.self, SelectCommand.self, MergeCommand.self, TrainCommand.self, PredictCommand.self, EvalCommand.self, StatsCommand.self]
    )

    static func main() {
        #if canImport(Glibc)
        // glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), after
        // which large buffers (record batches, grown matrices) are carved from the heap and their
        // memory stays resident after free. A fixed threshold returns them to the system at once:
        // `select -k 100` on mnist peaks at 81.6 MB instead of 91.7, at the same speed.
        // (mallopt is not in Swift's Glibc module; M_MMAP_THRESHOLD is -3 in glibc's malloc.h.)
        if let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") {
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 256 << 10)
        }
        #endif
        main(nil)
    }
}
