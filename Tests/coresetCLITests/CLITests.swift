import Foundation
import Testing

/// Runs the built `coreset` binary as a user would and checks stdout, stderr and exit codes.
enum CLI {
    /// Each command line fails as a usage error (exit 64) whose message contains its text, writing nothing to stdout.
    static func expectUsageErrors(_ cases: [([String], String)]) throws {
        for (args, message) in cases {
            let r = try run(args)
            #expect(r.status == 64, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args)")
        }
    }

    static let productsDirectory: URL = {
        let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }
        return bundle.map { $0.bundleURL.deletingLastPathComponent() } ?? Bundle.main.bundleURL
    }()

    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures")

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `coreset` with arguments and optional stdin bytes.
    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("coreset")
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryFile(_ name: String, _ bytes: Data) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try! bytes.write(to: url)
        return url.path
    }
}

@Suite struct StatsCLITests {
    @Test func statsOnTheBundledFixture() throws {
        let r = try CLI.run(["stats", "--quiet", CLI.fixtures.appendingPathComponent("adult/adult.train.svm.zst").path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("records_accepted\t32561\n"))
        #expect(r.stdout.contains("records_skipped\t0\n"))
        #expect(r.stdout.contains("label\t-1\t24720\n"))
        #expect(r.stdout.contains("label\t1\t7841\n"))
        #expect(r.stdout.contains("dimension\t108\n"))
        #expect(r.stdout.contains("bytes_in\t296901\n"))
        #expect(r.stdout.contains("bytes_out\t2925821\n"))
        #expect(r.stderr.isEmpty)
    }

    @Test func stdinAndDashReadTheSameStream() throws {
        let data = Data("1 1:1\n-1 2:1\n".utf8)
        let a = try CLI.run(["stats", "-q"], stdin: data)
        let b = try CLI.run(["stats", "-q", "-"], stdin: data)
        #expect(a.status == 0 && b.status == 0)
        #expect(a.stdout.contains("records_accepted\t2\n"))
        #expect(b.stdout.contains("records_accepted\t2\n"))
    }

    @Test func badRecordsAreReportedWithFileAndLineAndSummarised() throws {
        let path = CLI.temporaryFile("bad.svm", Data("1 1:1\n1 x:1\n-1 2:2\n".utf8))
        let r = try CLI.run(["stats", "-q", path])
        #expect(r.status == 0)
        #expect(r.stderr.contains("\(path):2: bad feature index \"x\""))
        #expect(r.stdout.contains("records_accepted\t2\n"))
        #expect(r.stdout.contains("records_skipped\t1\n"))
        let strict = try CLI.run(["stats", "-q", "--strict", path])
        #expect(strict.status == 65)
        #expect(strict.stderr.contains("\(path):2:"))
        // What was accepted before the fault is still counted.
        #expect(strict.stdout.contains("records_accepted\t1\n"))
    }

    @Test func exitCodesFollowSysexits() throws {
        let missing = try CLI.run(["stats", "-q", "/nonexistent/file.svm"])
        #expect(missing.status == 74)
        #expect(missing.stderr.contains("/nonexistent/file.svm: cannot open"))
        let usage = try CLI.run(["stats", "--format", "parquet"])
        #expect(usage.status == 64)
        var cut = try Data(contentsOf: CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst"))
        cut = cut.prefix(cut.count / 2)
        let path = CLI.temporaryFile("cut.svm.zst", cut)
        let truncated = try CLI.run(["stats", "-q", path])
        #expect(truncated.status == 65)
        #expect(truncated.stderr.contains("\(path): at byte "))
        #expect(truncated.stderr.contains("truncated zstd"))
        #expect(truncated.stdout.contains("records_accepted\t"))
        #expect(!truncated.stdout.contains("records_accepted\t0\n"))
    }

    @Test func progressGoesToStderrOnly() throws {
        let r = try CLI.run(["stats", CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path])
        #expect(r.status == 0)
        #expect(r.stderr.contains("16281 records, 0 skipped"))
        #expect(!r.stdout.contains("records, 0 skipped"))
    }
}

@Suite struct SignalCLITests {
    @Test func interruptFlushesTheSummaryAndExits130() throws {
        let path = CLI.temporaryFile("feed.svm", Data("1 1:1\n-1 2:1\n".utf8))
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        process.arguments = ["stats", "-q", "--follow", path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        Thread.sleep(forTimeInterval: 0.7)
        process.interrupt()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(String(decoding: data, as: UTF8.self).contains("records_accepted\t2\n"))
    }

    @Test func aClosedDownstreamPipeIsACleanStop() throws {
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        process.arguments = ["select", "-q", "-k", "5", "--emit-every", "10", "--output-format", "csv", CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        // Read one chunk, then close our end as `head` would.
        _ = out.fileHandleForReading.readData(ofLength: 100)
        try out.fileHandleForReading.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
