import Foundation
import Testing

/// Issue 28: an output is replaced only by a complete result, and inputs are checked before a
/// command starts work.
@Suite struct OutputSafetyCLITests {
    static let good = CLI.temporaryFile("good.svm", Data("1 1:1 2:3\n-1 1:2\n1 2:1\n".utf8))

    @Test func aMissingInputLeavesTheOutputAlone() throws {
        let output = CLI.temporaryFile("keep.svm", Data("the previous coreset\n".utf8))
        let missing = URL(fileURLWithPath: output).deletingLastPathComponent().appendingPathComponent("missing.svm").path
        // Missing first, or after a good input: either way nothing is read and -o is kept.
        for inputs in [[missing], [Self.good, missing]] {
            let r = try CLI.run(["select", "-q", "-k", "5", "-o", output] + inputs)
            #expect(r.status == 74, "\(r.stderr)")
            #expect(r.stderr.contains("\(missing): cannot open: No such file or directory"), "\(r.stderr)")
            #expect(try String(contentsOfFile: output, encoding: .utf8) == "the previous coreset\n")
        }
        let stats = try CLI.run(["stats", "-q", Self.good, missing])
        #expect(stats.status == 74)
        #expect(stats.stdout.isEmpty, "no summary of a stream that was never read: \(stats.stdout)")
    }

    @Test func runChecksTestAndHoldoutFilesBeforeTraining() throws {
        let input = CLI.fixtures.appendingPathComponent("adult/adult.train.svm.zst").path
        for option in ["--test", "--holdout"] {
            let r = try CLI.run(["run", "--sync", input, option, "/nonexistent/missing.svm"])
            #expect(r.status == 74, "\(r.stderr)")
            #expect(r.stderr.contains("/nonexistent/missing.svm: cannot open"), "\(r.stderr)")
            // No progress row: the stream was not trained on first.
            #expect(!r.stderr.contains("records"), "\(r.stderr.prefix(400))")
            #expect(r.stdout.isEmpty)
        }
        let train = try CLI.run(["train", "-q", input, "--holdout", "/nonexistent/missing.svm"])
        #expect(train.status == 74)
        #expect(!train.stderr.contains("epoch"), "\(train.stderr.prefix(400))")
    }
}

@Suite struct WeightOverflowCLITests {
    /// Three weights of 1e308 are finite; their sum is not. The coreset used to say `1:inf`,
    /// which `coreset merge` then refused to read.
    @Test func weightsSummingPastDoublesRangeAreAClearErrorNotInf() throws {
        let input = CLI.temporaryFile("big.svm", Data("1:1e308 1:1\n1:1e308 1:1\n1:1e308 1:1.1\n-1 1:3\n".utf8))
        let output = CLI.temporaryFile("keep.svm", Data("previous\n".utf8))
        let r = try CLI.run(["select", "-q", "-k", "2", input, "-o", output])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("\(input): the record weights sum past the largest number representable"), "\(r.stderr)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "previous\n")
        let out = try CLI.run(["select", "-q", "-k", "2", input])
        #expect(!out.stdout.contains("inf"))
    }
}

@Suite struct CheckpointFailureCLITests {
    /// A checkpoint that cannot be written (its file's place taken by a non-empty directory once
    /// the run is under way) fails `select` before `-o` is replaced by a partial coreset.
    @Test func aFailedCheckpointLeavesTheOutputAlone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let fifo = dir.appendingPathComponent("feed.svm").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let state = dir.appendingPathComponent("state").path
        let output = dir.appendingPathComponent("keep.svm").path
        try Data("the previous coreset\n".utf8).write(to: URL(fileURLWithPath: output))
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        p.arguments = ["select", "-q", "-k", "5", "--state", state, "--checkpoint-every", "1000", "-o", output, fifo]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Once the state directory is locked (no checkpoint in it yet), block the checkpoint's place.
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: state + "/lock") && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        Thread.sleep(forTimeInterval: 0.3)
        try FileManager.default.createDirectory(atPath: state + "/checkpoint.bin/blocker", withIntermediateDirectories: true)
        let writer = FileHandle(forWritingAtPath: fifo)!
        let lines = (0..<3000).map { "\($0 % 2 == 0 ? 1 : -1) 1:\($0 % 17) 2:1\n" }.joined()
        try? writer.write(contentsOf: Data(lines.utf8))
        try? writer.close()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 74, "\(message)")
        #expect(message.contains("checkpoint.bin"), "\(message)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "the previous coreset\n")
    }
}
