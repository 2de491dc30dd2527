import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `coreset run --state DIR`: killed or interrupted runs resume where they stopped, with no record
/// counted twice or skipped.
@Suite(.serialized) struct CheckpointCLITests {
    static let train = CLI.fixtures.appendingPathComponent("adult/adult.train.svm.zst").path
    static let test = CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path

    /// A small selection (k = 50, 100 references per class) keeps a debug-build pass over adult
    /// near 15 s; --sync makes selection and learning deterministic; small chunks give many batch
    /// boundaries (checkpoints fall between batches).
    static func arguments(_ input: String) -> [String] {
        ["run", "--sync", input, "-k", "50", "--reference-size", "100", "--chunk-size", "65536"]
    }

    static func temporaryDirectory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func start(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Identity of the checkpoint file (each checkpoint renames a new file over it: a new inode).
    static func checkpointIdentity(_ path: String) -> String? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return "\(a[.systemFileNumber] ?? 0)"
    }

    /// Kills `p` with SIGKILL at a random moment 0-1 s after it wrote its next checkpoint (waiting
    /// for progress rather than a fixed time, so each round gets somewhere however loaded the
    /// machine is). Returns the delay after the checkpoint, or nil if the run ended first.
    static func killSoonAfterNextCheckpoint(_ p: Process, state: String, maxDelay: Double = 1) -> Double? {
        let file = state + "/checkpoint.bin"
        let before = checkpointIdentity(file)
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning && checkpointIdentity(file) == before && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let delay = Double.random(in: 0...maxDelay)
        Thread.sleep(forTimeInterval: delay)
        guard p.isRunning else {
            p.waitUntilExit()
            return nil
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        return delay
    }

    /// The summary without the line that measures time.
    static func summary(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("seconds\t") }
    }

    static func value(_ name: String, in stdout: String) -> Double? {
        for line in stdout.split(separator: "\n") where line.hasPrefix(name + "\t") { return Double(line.split(separator: "\t")[1]) }
        return nil
    }

    /// Total and per-label weight of a LIBSVM coreset (`label ... # id=N weight=W`).
    static func coresetWeights(_ path: String) throws -> [String: Double] {
        var totals: [String: Double] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let label = line.split(separator: " ")[0]
            let weight = line.split(separator: "weight=")[1]
            totals[String(label), default: 0] += Double(weight)!
        }
        return totals
    }

    /// ‖a − b‖ / ‖b‖ over the weights and biases of two saved models.
    static func relativeModelDifference(_ a: String, _ b: String) throws -> Double {
        func parameters(_ path: String) throws -> [Double] {
            let bundle = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            let model = bundle["model"] as! [String: Any]
            return (model["weights"] as! [Double]) + (model["bias"] as! [Double])
        }
        let x = try parameters(a), y = try parameters(b)
        #expect(x.count == y.count)
        var d = 0.0, n = 0.0
        for (u, v) in zip(x, y) {
            d += (u - v) * (u - v)
            n += v * v
        }
        return (d / n).squareRoot()
    }

    /// The test: a real run on the adult training set is killed with SIGKILL at random
    /// moments (0-0.3 s after one of its checkpoints: during the next batches, or while writing the
    /// next checkpoint), five times, and restarted with the same --state each time; the run that
    /// finally completes must account for every record exactly once and end where a never-killed run ends.
    ///
    /// The model must be the never-killed run's to the bit: the run is in lockstep (`--sync`: no clock
    /// decides anything) and a checkpoint keeps the learner's raw weights and L2 scale.
    @Test func sigkillAtRandomMomentsThenRestartLosesAndRepeatsNothing() throws {
        let dir = Self.temporaryDirectory()
        let referenceModel = dir.appendingPathComponent("reference.json").path
        let referenceCoreset = dir.appendingPathComponent("reference.svm").path
        let model = dir.appendingPathComponent("model.json").path
        let coreset = dir.appendingPathComponent("coreset.svm").path
        let state = dir.appendingPathComponent("state").path
        // The training set twice: room for five kills however late a loaded machine lets them land.
        let base = Self.arguments(Self.train) + [Self.train]

        let reference = try CLI.run(base + ["-q", "--model-out", referenceModel, "--coreset-out", referenceCoreset])
        #expect(reference.status == 0, "\(reference.stderr)")

        let killed = base + ["--state", state, "--checkpoint-every", "1000", "--model-out", model, "--coreset-out", coreset]
        var delays: [Double] = []
        for _ in 0..<5 {
            // Within 0.15 s of a checkpoint, and one every 1,000 records: the whole run takes about 3 s in a
            // debug build, so a kill costs it a few thousand of the 65,122 records and five kills leave most
            // (one copy, checkpoints every 2,000 and kills up to 0.3 s late let a loaded machine's third start finish).
            guard let delay = Self.killSoonAfterNextCheckpoint(try Self.start(killed), state: state, maxDelay: 0.15) else { break }
            delays.append(delay)
        }
        #expect(delays.count >= 3, "the run finished before it could be killed (delays \(delays))")

        let last = try CLI.run(killed)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(last.stderr.contains("resuming from \(state) after record "), "\(last.stderr)")
        #expect(Self.value("records_accepted", in: last.stdout) == 65122)
        #expect(Self.value("records_skipped", in: last.stdout) == 0)
        #expect(Self.value("bytes_out", in: last.stdout) == 5_851_642)
        // Every record's weight ends in the coreset exactly once: the totals are the input's
        // (per class: 2 x 24720 negatives, 2 x 7841 positives), up to floating-point rounding.
        let weights = try Self.coresetWeights(coreset)
        let total: Double = weights.values.reduce(0, +), negatives: Double = weights["-1"] ?? 0, positives: Double = weights["1"] ?? 0
        #expect(abs(total - 65122) < 1e-6, "\(weights) (delays \(delays))")
        #expect(abs(negatives - 49440) < 1e-6 && abs(positives - 15682) < 1e-6, "\(weights)")
        let difference = try Self.relativeModelDifference(model, referenceModel)
        #expect(difference == 0, "model differs from the never-killed run by \(difference) (delays \(delays))")
        // The learner took as many steps and saw as many records as the never-killed run.
        #expect(Self.value("learner_steps", in: last.stdout) == Self.value("learner_steps", in: reference.stdout))
    }

    /// SIGINT checkpoints and exits 130 after flushing the summary; the restart completes the run,
    /// which then equals one run that was never interrupted.
    @Test func interruptThenRestartEqualsOneRun() throws {
        let dir = Self.temporaryDirectory()
        let state = dir.appendingPathComponent("state").path
        let referenceModel = dir.appendingPathComponent("reference.json").path
        let model = dir.appendingPathComponent("model.json").path
        let base = Self.arguments(Self.test)
        let reference = try CLI.run(base + ["-q", "--model-out", referenceModel])
        #expect(reference.status == 0, "\(reference.stderr)")

        let args = base + ["-q", "--state", state, "--checkpoint-every", "3000", "--model-out", model]
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Interrupt once the run is under way (its first checkpoint), however loaded the machine is.
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning && Self.checkpointIdentity(state + "/checkpoint.bin") == nil && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        p.interrupt()
        let first = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        let seen = try #require(Self.value("records_accepted", in: first))
        #expect(seen > 0 && seen < 16281, "interrupt came too late to test anything (\(seen) records)")

        let rest = try CLI.run(args)
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(Self.summary(rest.stdout) == Self.summary(reference.stdout))
        // Lockstep and the learner's raw weights in the checkpoint: the same model to the bit.
        let difference = try Self.relativeModelDifference(model, referenceModel)
        #expect(difference == 0, "model differs from the uninterrupted run by \(difference)")

        // A restart after completion resumes at the end of the input and reproduces the result.
        let again = try CLI.run(args)
        #expect(again.status == 0)
        #expect(Self.summary(again.stdout) == Self.summary(reference.stdout))
    }

    /// A finished run started again on its state directory redoes only the end of the stream (the last
    /// checkpoint is taken before it), and must write the same model to the last bit: the checkpoint keeps
    /// the weights as the learner holds them (raw storage and scale), not only the effective ones.
    @Test func rerunningAFinishedRunWritesTheSameModel() throws {
        let dir = Self.temporaryDirectory()
        let state = dir.appendingPathComponent("state").path, model = dir.appendingPathComponent("model.json").path
        let args = Self.arguments(Self.test) + ["-q", "--l2", "1e-4", "--state", state, "--model-out", model]
        let first = try CLI.run(args)
        #expect(first.status == 0, "\(first.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: model))
        let again = try CLI.run(args)
        #expect(again.status == 0, "\(again.stderr)")
        let b = try Data(contentsOf: URL(fileURLWithPath: model))
        #expect(a == b)
        // Model files stay as they were: no checkpoint-only field.
        #expect(!String(decoding: b, as: UTF8.self).contains("exactWeights"))
    }

    @Test func mismatchingStateOrUnresumableInputIsRejectedClearly() throws {
        let dir = Self.temporaryDirectory()
        let state = dir.appendingPathComponent("state").path
        let small = CLI.temporaryFile("small.svm", Data((0..<300).map { "\($0 % 2 == 0 ? 1 : -1) 1:\(Double($0 % 7) / 7) 3:1\n" }.joined().utf8))
        let first = try CLI.run(["run", "-q", "--sync", small, "-k", "10", "--state", state])
        #expect(first.status == 0, "\(first.stderr)")
        // Other options: refused, naming the difference.
        let other = try CLI.run(["run", "-q", "--sync", small, "-k", "11", "--state", state])
        #expect(other.status == 64)
        #expect(other.stderr.contains("the checkpoint was taken with other options"), "\(other.stderr)")
        // The input changed since: refused.
        try Data("1 1:1\n".utf8).write(to: URL(fileURLWithPath: small))
        let changed = try CLI.run(["run", "-q", "--sync", small, "-k", "10", "--state", state])
        #expect(changed.status == 64)
        #expect(changed.stderr.contains("input changed since the checkpoint"), "\(changed.stderr)")
        // A damaged checkpoint: refused as bad data.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: state + "/checkpoint.bin"))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: state + "/checkpoint.bin"))
        let damaged = try CLI.run(["run", "-q", "--sync", small, "-k", "10", "--state", state])
        #expect(damaged.status == 65)
        #expect(damaged.stderr.contains("checksum mismatch"), "\(damaged.stderr)")
        // stdin cannot be read again: refused before reading.
        let piped = try CLI.run(["run", "-q", "--state", state], stdin: Data("1 1:1\n".utf8))
        #expect(piped.status == 64)
        #expect(piped.stderr.contains("stdin and --follow cannot be read again"), "\(piped.stderr)")
        let bad = try CLI.run(["run", "-q", small, "--state", state, "--checkpoint-every", "soon"])
        #expect(bad.status == 64)
    }

    @Test func aStateDirectoryIsUsedByOneProcessAtATimeAndClearedOfTemporaries() throws {
        let state = Self.temporaryDirectory().appendingPathComponent("state").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let stale = state + "/checkpoint.bin.tmp-999999"
        try Data("partial".utf8).write(to: URL(fileURLWithPath: stale))
        let args = Self.arguments(Self.train) + ["-q", "--state", state]
        let first = try Self.start(args)
        defer {
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(300)
        while FileManager.default.fileExists(atPath: stale) && first.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(!FileManager.default.fileExists(atPath: stale), "a killed writer's temporary file was left behind")
        let second = try CLI.run(args)
        #expect(second.status == 64)
        #expect(second.stderr.contains("another coreset process is using this state directory"), "\(second.stderr)")
    }

    /// `coreset select --state`: selection is deterministic, so a run killed at random moments and
    /// restarted writes byte for byte the coreset of a run that never stopped.
    @Test func selectKilledAndRestartedWritesTheSameCoreset() throws {
        let dir = Self.temporaryDirectory()
        let state = dir.appendingPathComponent("state").path
        let reference = dir.appendingPathComponent("reference.svm").path
        let output = dir.appendingPathComponent("coreset.svm").path
        // The training set twice: room for the kills however late a loaded machine lets them land.
        let base = ["select", "-q", Self.train, Self.train, "-k", "60", "--reference-size", "100", "--chunk-size", "65536"]
        // The reference on one thread, the killed runs on two (the output must not depend on it).
        let r = try CLI.run(base + ["--threads", "1", "-o", reference])
        #expect(r.status == 0, "\(r.stderr)")
        let args = base + ["--threads", "2", "--state", state, "--checkpoint-every", "500", "-o", output]
        var delays: [Double] = []
        for _ in 0..<3 {
            // Within 0.1 s of a checkpoint, on the larger file: with sample-greedy the selection of the test
            // file took under 0.5 s in a debug build, and a second kill often came after it finished.
            guard let delay = Self.killSoonAfterNextCheckpoint(try Self.start(args), state: state, maxDelay: 0.1) else { break }
            delays.append(delay)
        }
        #expect(delays.count >= 2, "the selection finished before it could be killed (delays \(delays))")
        let last = try CLI.run(args)
        #expect(last.status == 0, "\(last.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: reference)), b = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(a == b, "coreset differs after kills at \(delays)")
        let weights = try Self.coresetWeights(output)
        let total: Double = weights.values.reduce(0, +)
        #expect(abs(total - 65122) < 1e-6)  // adult.train's records, twice
        // A run's state directory is not a select checkpoint.
        let runState = dir.appendingPathComponent("run-state").path
        let run = try CLI.run(["run", "-q", "--sync", Self.test, "-k", "10", "--reference-size", "20", "--mode", "online-only", "--state", runState])
        #expect(run.status == 0, "\(run.stderr)")
        let wrong = try CLI.run(base + ["--state", runState])
        #expect(wrong.status == 65)
        #expect(wrong.stderr.contains("not a checkpoint of this command"), "\(wrong.stderr)")
    }

    /// A `select --state` on the training set twice, and the coreset of one uninterrupted run of it.
    struct InterruptedSelect {
        let state: String, output: String, reference: String, arguments: [String]

        init(checkpointEvery: String) throws {
            let dir = CheckpointCLITests.temporaryDirectory()
            state = dir.appendingPathComponent("state").path
            output = dir.appendingPathComponent("coreset.svm").path
            reference = dir.appendingPathComponent("reference.svm").path
            let base = ["select", "-q", CheckpointCLITests.train, CheckpointCLITests.train, "-k", "60", "--reference-size", "100", "--chunk-size", "65536"]
            let r = try CLI.run(base + ["-o", reference])
            #expect(r.status == 0, "\(r.stderr)")
            arguments = base + ["--state", state, "--checkpoint-every", checkpointEvery, "-o", output]
        }

        /// Whether the output is byte for byte the uninterrupted run's.
        func matchesReference() throws -> Bool {
            try Data(contentsOf: URL(fileURLWithPath: reference)) == Data(contentsOf: URL(fileURLWithPath: output))
        }
    }

    /// SIGINT stops a `select --state` with 130 after its first checkpoint; the restart writes the coreset of one
    /// uninterrupted run.
    @Test func selectInterruptedAndRestartedWritesTheSameCoreset() throws {
        let s = try InterruptedSelect(checkpointEvery: "5000")
        let p = try Self.start(s.arguments)
        // Interrupt once the selection is under way (its first checkpoint), however loaded the machine is.
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning && Self.checkpointIdentity(s.state + "/checkpoint.bin") == nil && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        p.interrupt()
        p.waitUntilExit()
        // 130 when the interrupt came in time; 0 when the selection had already finished.
        #expect(p.terminationStatus == 130 || p.terminationStatus == 0)
        let last = try CLI.run(s.arguments)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(try s.matchesReference(), "the coreset differs after an interrupt and a restart")
    }

    /// With sample-greedy an interrupt lets the batch in hand finish and is checkpointed, however long the
    /// schedule's interval: the restart goes on from there and writes one run's coreset.
    @Test func selectCheckpointsAtAnInterrupt() throws {
        // No scheduled checkpoint before the end: one in the state directory after 130 is the interrupt's.
        let s = try InterruptedSelect(checkpointEvery: "100000000")
        let p = try Self.start(s.arguments)
        Thread.sleep(forTimeInterval: 0.3)
        p.interrupt()
        p.waitUntilExit()
        if p.terminationStatus == 130 {
            #expect(Self.checkpointIdentity(s.state + "/checkpoint.bin") != nil, "no checkpoint after an interrupt")
            let last = try CLI.run(s.arguments.filter { $0 != "-q" })
            #expect(last.status == 0, "\(last.stderr)")
            #expect(last.stderr.contains("resuming from \(s.state) after record "), "\(last.stderr)")
        } else {
            #expect(p.terminationStatus == 0)  // finished before the interrupt
        }
        #expect(try s.matchesReference(), "the coreset differs after an interrupt and a restart")
    }
}
