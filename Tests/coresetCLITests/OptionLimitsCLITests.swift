import Foundation
import Testing

/// Issue 28: option values out of range are usage errors (exit 64), never a trap; a thread the
/// system refuses is an OS error (exit 71).
@Suite struct OptionLimitsCLITests {
    static let small = CLI.temporaryFile("small.svm", Data("1 1:1 2:3\n-1 1:2\n1 2:1\n".utf8))
    static let huge = "9223372036854775807"

    @Test(arguments: [
        ["select", "-k", huge],
        ["select", "--window", huge],
        ["select", "--epsilon", "1e-300"],
        ["select", "--shards", huge, "-k", huge],
        ["select", "--warm-up", huge],
        ["select", "--chunk-size", huge],
        ["select", "--threads", "100000"],
        ["run", "--threads", "100000"],
        ["run", "-k", huge],
        ["stats", "--chunk-size", huge],
        ["stats", "--follow-idle-exit", "nan", "--follow", "x"],
    ])
    func outOfRangeOptionsAreUsageErrors(_ arguments: [String]) throws {
        let r = try CLI.run(arguments + (arguments.contains("--follow") ? [] : [Self.small]))
        #expect(r.status == 64, "\(arguments): exit \(r.status): \(r.stderr.prefix(300))")
        #expect(r.stderr.contains("must be"), "\(r.stderr.prefix(300))")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("runtime failure"))
    }

    @Test func theThreadCapIsInTheHelp() throws {
        let r = try CLI.run(["select", "--help"])
        #expect(r.stdout.contains("at most 4 per core"))
        let run = try CLI.run(["run", "--help"])
        #expect(run.stdout.contains("at most 4 per core"))
    }

    @Test func theLargestAcceptedKStillRuns() throws {
        let r = try CLI.run(["select", "-q", "-k", "2147483648", "--space", "feature", Self.small])
        #expect(r.status == 0, "\(r.stderr.prefix(300))")
        #expect(r.stdout.split(separator: "\n").count == 3)
    }

    /// Under an address-space limit (ulimit -v) that leaves room for the process but not for its
    /// worker threads' stacks, `pthread_create` fails: that is exit 71 and a message, not a trap.
    @Test func aThreadTheSystemRefusesIsExit71() throws {
        let binary = CLI.productsDirectory.appendingPathComponent("coreset").path
        let input = CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path
        let threads = 4 * ProcessInfo.processInfo.activeProcessorCount
        var refused = false
        var statuses: [Int: Int32] = [:]
        // The process's own footprint differs between builds and machines: try several limits.
        for limit in stride(from: 30_000, through: 200_000, by: 10_000) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -v \(limit) && exec \"$0\" select -q -k 50 --threads \(threads) \"$1\"", binary, input]
            let err = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            try p.run()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            statuses[limit] = p.terminationStatus
            // A trap (SIGILL/SIGTRAP: 132/133 through sh's exec) would be the old precondition.
            #expect(!message.contains("cannot start a thread (pthread_create"), "trapped at ulimit -v \(limit): \(message.prefix(300))")
            if p.terminationStatus == 71 {
                #expect(message.contains("coreset: cannot start a thread: "), "\(message.prefix(300))")
                #expect(message.contains("lower --threads"))
                refused = true
                break
            }
        }
        #expect(refused, "no limit made a thread fail to start: \(statuses.sorted { $0.key < $1.key })")
    }
}
