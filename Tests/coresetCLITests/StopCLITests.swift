import Foundation
import Testing

/// Issue 28: every command stops within a second of SIGINT or SIGTERM, writes what it has and
/// exits 128 + the signal, whether its input is an endless pipe or a long file.
@Suite struct StopCLITests {
    /// How long a command may take to exit after the signal. The promise is one second for the release
    /// build; the tests run the debug build (several times slower per record) on a two-core machine
    /// running other tests at the same time, where `select` measured 1.9 s once. Without the fix these
    /// commands never stop (the test waits 20 s, then kills them).
    static let allowedSeconds = 3.0

    struct Stopped {
        var status: Int32
        var seconds: Double
        var stdout: String
        var stderr: String
    }

    /// Starts `coreset arguments` (stdin from `stdin`, or /dev/null), sends `signal` after
    /// `after` seconds, and measures how long it takes to exit.
    static func stop(_ arguments: [String], stdin: Any? = nil, signal: Int32, after: Double = 0.8) throws -> Stopped {
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin ?? FileHandle.nullDevice
        try p.run()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        Thread.sleep(forTimeInterval: after)
        #expect(p.isRunning, "\(arguments) ended before the signal: the test would test nothing")
        let start = Date()
        kill(p.processIdentifier, signal)
        // Wait at most 20 s, then SIGKILL so a failing test does not hang the suite.
        while p.isRunning && Date().timeIntervalSince(start) < 20 { Thread.sleep(forTimeInterval: 0.01) }
        let seconds = Date().timeIntervalSince(start)
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        group.wait()
        return Stopped(status: p.terminationStatus, seconds: seconds,
                       stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// `yes '1 1:1 2:3'`, an endless stream, as a process whose stdout is the returned pipe.
    static func endlessPipe() throws -> (Process, Pipe) {
        let yes = Process()
        yes.executableURL = URL(fileURLWithPath: "/usr/bin/yes")
        yes.arguments = ["1 1:1 2:3"]
        let pipe = Pipe()
        yes.standardOutput = pipe
        try yes.run()
        return (yes, pipe)
    }

    static func value(_ name: String, in stdout: String) -> Int? {
        for line in stdout.split(separator: "\n") where line.hasPrefix(name + "\t") { return Int(line.split(separator: "\t")[1]) }
        return nil
    }

    /// A file of three records followed by 1 TB of NUL bytes (sparse, so it costs no disk): a
    /// reader needs minutes to reach its end.
    static func longFile() throws -> String {
        let path = CLI.temporaryFile("long.svm", Data("1 1:1\n-1 2:1\n1 1:2\n".utf8))
        #expect(truncate(path, 1 << 40) == 0)
        return path
    }

    @Test func selectOnAnEndlessPipeStopsOnSigintAndWritesTheCoreset() throws {
        let (yes, pipe) = try Self.endlessPipe()
        defer { yes.terminate(); yes.waitUntilExit() }
        let output = CLI.temporaryFile("keep.svm", Data())
        // A small reservoir: the test build is unoptimised, and the read-out at the stop is a greedy over it.
        let r = try Self.stop(["select", "-q", "-k", "10", "--reference-size", "200", "-o", output], stdin: pipe, signal: SIGINT)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(r.seconds < Self.allowedSeconds, "took \(r.seconds) s to stop")
        let written = try String(contentsOfFile: output, encoding: .utf8)
        // Every record is the same line, so which ten stand for them depends on the draws; each is one of them.
        let lines = written.split(separator: "\n")
        #expect(lines.count == 10, "\(written)")
        #expect(lines.allSatisfy { $0.hasPrefix("1 1:1 2:3 # id=") && $0.contains(" weight=") }, "\(written)")
    }

    @Test func statsOnAnEndlessPipeStopsOnSigtermWith143() throws {
        let (yes, pipe) = try Self.endlessPipe()
        defer { yes.terminate(); yes.waitUntilExit() }
        let r = try Self.stop(["stats", "-q"], stdin: pipe, signal: SIGTERM)
        #expect(r.status == 143, "\(r.stderr)")
        #expect(r.seconds < Self.allowedSeconds, "took \(r.seconds) s to stop")
        #expect((Self.value("records_accepted", in: r.stdout) ?? 0) > 0, "\(r.stdout)")
    }

    @Test func statsAndSelectOnALongFileStopWithoutReadingToItsEnd() throws {
        let path = try Self.longFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stats = try Self.stop(["stats", "-q", "--max-reported", "0", path], signal: SIGTERM)
        #expect(stats.status == 143, "\(stats.stderr)")
        #expect(stats.seconds < Self.allowedSeconds, "took \(stats.seconds) s to stop")
        #expect(Self.value("records_accepted", in: stats.stdout) == 3, "\(stats.stdout)")

        let select = try Self.stop(["select", "-q", "-k", "2", "--max-reported", "0", "--space", "feature", path], signal: SIGINT)
        #expect(select.status == 130, "\(select.stderr)")
        #expect(select.seconds < Self.allowedSeconds, "took \(select.seconds) s to stop")
        #expect(select.stdout.split(separator: "\n").count == 2, "\(select.stdout)")
    }

    @Test func aPipeThatSendsNothingStillStops() throws {
        // stdin is a pipe nobody writes to: the read blocks until the signal.
        let silent = Pipe()
        let r = try Self.stop(["select", "-q", "-k", "3"], stdin: silent, signal: SIGTERM, after: 0.5)
        #expect(r.status == 143, "\(r.stderr)")
        #expect(r.seconds < Self.allowedSeconds, "took \(r.seconds) s to stop")
        try silent.fileHandleForWriting.close()
    }

    @Test func anInterruptedRunSkipsItsTestSetRatherThanScoringNothing() throws {
        // 200 records, then a pipe kept open and silent: the run is waiting for more when stopped.
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data((0..<200).map { "\($0 % 2 == 0 ? 1 : -1) 1:\($0 % 7) 2:1\n" }.joined().utf8))
        defer { try? pipe.fileHandleForWriting.close() }
        let test = CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path
        let r = try Self.stop(["run", "-q", "--test", test], stdin: pipe, signal: SIGTERM, after: 1.5)
        #expect(r.status == 143, "\(r.stderr)")
        #expect(r.seconds < Self.allowedSeconds, "took \(r.seconds) s to stop")
        #expect((Self.value("records_accepted", in: r.stdout) ?? 0) > 0, "\(r.stdout)")
        #expect(!r.stdout.contains("test_loss"), "\(r.stdout)")
        #expect(r.stderr.contains("interrupted: --test \(test) was not evaluated"), "\(r.stderr)")
    }
}
