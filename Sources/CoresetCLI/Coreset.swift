import ArgumentParser
import CoresetKit

/// The `coreset` command: its subcommands parse options and wire the engine (CoresetKit). A library of its
/// own so that the executable is one line and the option parsing can be fuzzed (tools/fuzz, FuzzOptions).
public struct Coreset: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "coreset",
        abstract: "Turn a stream of training records into a weighted coreset and learn from it, live.",
        version: "0.1.0",
        subcommands: [RunCommand.self, SelectCommand.self, MergeCommand.self, TrainCommand.self, PredictCommand.self, EvalCommand.self, StatsCommand.self]
    )

    public init() {}

    public static func main() {
        MemoryReturn.returnLargeFreedBlocks()
        main(nil)
    }
}

extension Coreset {
    /// Parses `arguments` as the command line would, validation included, without running anything:
    /// the parsed command's type, or the message and exit code a user would get. For fuzzing the
    /// option parsing (tools/fuzz, FuzzOptions) and its regression tests.
    public static func parseOnly(_ arguments: [String]) -> String {
        do {
            let command = try parseAsRoot(arguments)
            return String(describing: type(of: command))
        } catch {
            return fullMessage(for: error) + "\nexit \(exitCode(for: error).rawValue)"
        }
    }

    /// Splits a fuzz input into arguments: at NUL and newline bytes, invalid UTF-8 repaired as the
    /// shell would hand it over (at most 32 arguments of 256 bytes, so one input stays fast).
    public static func fuzzArguments(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var out: [String] = []
        for piece in bytes.split(whereSeparator: { $0 == 0 || $0 == 0x0A }).prefix(32) {
            out.append(String(decoding: piece.prefix(256), as: UTF8.self))
        }
        return out
    }
}
