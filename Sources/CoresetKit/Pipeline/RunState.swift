#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A checkpoint of `coreset run`: everything needed to continue the run in a new process as if it
/// had never stopped — the input position, the selector (or reservoir) state, the learner with its
/// optimizer state and replay memory, and the bookkeeping between them.
///
/// **Consistency.** A checkpoint is taken on the ingest thread between two batches. The learner
/// runs on its own thread behind a channel, so the run sends a barrier message through the channel
/// and waits: when the learner reaches it, it has learned exactly the batches sent before it, i.e.
/// the records up to the saved input position, and it hands back its state there (replay steps it
/// took meanwhile are part of that state). In `--sync` mode the learner is called directly and no
/// barrier is needed.
///
/// **File.** One binary file, `checkpoint.bin` in the state directory, written atomically (temporary
/// file, fsync, rename, fsync of the directory), so a crash at any moment leaves the previous or the
/// new checkpoint, never a mix. It starts with a format name and version and ends with a checksum; a
/// state of another version, of other options or of inputs that changed since is rejected with a
/// message that says which.
public struct RunState: Sendable {
    public static let formatName = "coreset-run-state"
    public static let formatVersion = 1
    public static let fileName = "checkpoint.bin"

    /// The options the run was started with (as the caller renders them); must match to resume.
    public var options: String
    /// Identity of every input file; must match to resume.
    public var inputs: [InputIdentity]
    public var reader: ReaderPosition
    var task: TaskKind
    var ingest: _IngestState
    var learner: _LearnerLoopState
    /// The drift guard's state (`RunConfiguration.drift`); absent in checkpoints written before it
    /// existed, which resume with a fresh guard.
    var drift: _DriftState? = nil
    /// The final polish's copies of the learner (`_FinalPolish`, encoded); absent in checkpoints written
    /// before it existed, which resume without them (the polish then judges the copies taken after).
    var polish: [UInt8]? = nil

    /// Records accepted up to the checkpoint.
    public var recordsAccepted: UInt64 { reader.statistics.recordsAccepted }

    /// Rejects a state taken with other options or on inputs that changed.
    /// - Throws: `CoresetError.usage` naming the difference.
    public func check(options now: String, inputs identities: [InputIdentity], directory: String) throws(CoresetError) {
        try _checkResumable(savedOptions: options, savedInputs: inputs, options: now, inputs: identities, directory: directory)
    }

    // MARK: File

    /// Path of the checkpoint file in a state directory.
    public static func path(inDirectory dir: String) -> String { dir + "/" + fileName }

    /// Writes the checkpoint atomically into `dir` (created if missing).
    public func write(toDirectory dir: String) throws(CoresetError) {
        try _CheckpointFile.write(try encoded(), format: Self.formatName, version: Self.formatVersion, toDirectory: dir)
    }

    /// Reads the checkpoint in `dir`, or nil if the directory has none.
    /// - Throws: `CoresetError.badFile` for a file that is not a checkpoint of this version or is corrupt.
    public static func read(fromDirectory dir: String) throws(CoresetError) -> RunState? {
        guard let (payload, path) = try _CheckpointFile.read(format: formatName, version: formatVersion, fromDirectory: dir) else { return nil }
        do { return try decode(payload, path: path) } catch {
            throw .badFile(path: path, message: "corrupt checkpoint: \(error)")
        }
    }

    func encoded() throws(CoresetError) -> [UInt8] {
        var w = _StateWriter()
        w.string(options)
        w.inputIdentities(inputs)
        w.readerPosition(reader)
        w.string(task.rawValue)
        try ingest.encode(into: &w)
        try learner.encode(into: &w)
        // Last, so that checkpoints written before the guard existed still read.
        w.bool(drift != nil)
        try drift?.encode(into: &w)
        w.bool(polish != nil)
        if let polish { w.blob(polish) }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> RunState {
        var r = _StateReader(bytes)
        let options = try r.string()
        let inputs = try r.inputIdentities()
        let reader = try r.readerPosition()
        let taskName = try r.string()
        guard let task = TaskKind(rawValue: taskName) else { throw _StateReader.Corrupt(offset: r.offset, reason: "unknown task \(taskName)") }
        let ingest = try _IngestState(decoding: &r)
        let learner = try _LearnerLoopState(decoding: &r)
        let drift = r.atEnd ? nil : try r.optional { r in try _DriftState(decoding: &r) }
        let polish = r.atEnd ? nil : try r.optional { r in try r.blob() }
        guard r.atEnd else { throw _StateReader.Corrupt(offset: r.offset, reason: "trailing bytes") }
        return RunState(options: options, inputs: inputs, reader: reader, task: task, ingest: ingest, learner: learner, drift: drift,
                        polish: polish)
    }
}

/// The checks before resuming: the same command line, and input files unchanged since.
func _checkResumable(savedOptions: String, savedInputs: [InputIdentity], options now: String, inputs identities: [InputIdentity],
                     directory: String) throws(CoresetError) {
    guard savedOptions == now else {
        throw .usage("\(directory): the checkpoint was taken with other options (\(savedOptions)); now: \(now). Use the same command line, or another --state directory")
    }
    guard savedInputs.count == identities.count else {
        throw .usage("\(directory): the checkpoint was taken on \(savedInputs.count) input files, now \(identities.count) are given")
    }
    for (a, b) in zip(savedInputs, identities) where a != b {
        throw .usage("\(directory): input changed since the checkpoint: was \(a), now \(b)")
    }
}

/// The file a checkpoint lives in: `DIR/checkpoint.bin` = format name, version, payload, checksum;
/// written atomically (temporary file, fsync, rename, fsync of the directory).
enum _CheckpointFile {
    static func write(_ payload: [UInt8], format: String, version: Int, toDirectory dir: String) throws(CoresetError) {
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw .io(input: dir, message: "cannot create the state directory: \(errnoDescription())")
        }
        var w = _StateWriter()
        w.string(format)
        w.int(version)
        w.blob(payload)
        w.u64(checksum(payload))
        let file = try AtomicFile(path: RunState.path(inDirectory: dir))
        do { try file.output.write(bytes: w.bytes) } catch { throw .io(input: file.path, message: "cannot write: \(error)") }
        try file.commit()
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 {
            _ = fsync(dfd)  // the rename is durable once the directory is (best effort)
            close(dfd)
        }
    }

    /// The payload of the checkpoint in `dir` and its path, or nil if there is none.
    static func read(format: String, version expected: Int, fromDirectory dir: String) throws(CoresetError) -> ([UInt8], String)? {
        let path = RunState.path(inDirectory: dir)
        guard access(path, F_OK) == 0 else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .io(input: path, message: "cannot read the checkpoint: \(error)")
        }
        var r = _StateReader([UInt8](data))
        do {
            let name = try r.string()
            guard name == format else {
                throw CoresetError.badFile(path: path, message: "not a checkpoint of this command (format \"\(name.prefix(40))\", expected \"\(format)\")")
            }
            let version = try r.int()
            guard version == expected else {
                throw CoresetError.badFile(path: path, message: "checkpoint format version \(version) is not the one this build reads (\(expected)); start a new --state directory")
            }
            let payload = try r.blob()
            let sum = try r.u64()
            guard sum == checksum(payload) else { throw CoresetError.badFile(path: path, message: "checksum mismatch: the checkpoint is damaged") }
            return (payload, path)
        } catch let e as CoresetError {
            throw e
        } catch {
            throw .badFile(path: path, message: "corrupt checkpoint: \(error)")
        }
    }

    /// FNV-1a, 64 bits: catches damaged files (not an integrity guarantee against tampering).
    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}

extension InputIdentity {
    init(path: String, device: UInt64, inode: UInt64, size: Int64, modifiedSeconds: Int64, modifiedNanoseconds: Int64) {
        self.path = path
        self.device = device
        self.inode = inode
        self.size = size
        self.modifiedSeconds = modifiedSeconds
        self.modifiedNanoseconds = modifiedNanoseconds
    }
}

/// JSON for the parts of a checkpoint that have a Codable form, with sorted keys so equal states
/// give equal bytes.
func _stateJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try encoder.encode(value)
}

/// The ingest thread's part of a checkpoint.
struct _IngestState: Sendable {
    /// `CoresetSelector.encodedState()`, when the memory is a coreset.
    var selector: [UInt8]?
    var reservoir: ReservoirMemory?
    var sincePublish: Int
    var publishedOnce: Bool
    var lastReselections: Int
    /// Version of the last model snapshot the selector took, and the newest one published.
    var seenModel: Int
    var latestModel: LinearModelSnapshot?
    var latestModelVersion: Int

    func encode(into w: inout _StateWriter) throws(CoresetError) {
        w.optional(selector) { $0.blob($1) }
        w.optional(reservoir) { w, m in
            w.int(m.k)
            w.array(m.records) { $0.record($1) }
            w.u64(m.seen)
            w.double(m.totalWeight)
            w.u64(m.rng.state)
        }
        w.int(sincePublish)
        w.bool(publishedOnce)
        w.int(lastReselections)
        w.int(seenModel)
        w.optional(latestModel) { w, m in m.encode(into: &w) }
        w.int(latestModelVersion)
    }

    init(selector: [UInt8]?, reservoir: ReservoirMemory?, sincePublish: Int, publishedOnce: Bool, lastReselections: Int,
         seenModel: Int, latestModel: LinearModelSnapshot?, latestModelVersion: Int) {
        self.selector = selector
        self.reservoir = reservoir
        self.sincePublish = sincePublish
        self.publishedOnce = publishedOnce
        self.lastReselections = lastReselections
        self.seenModel = seenModel
        self.latestModel = latestModel
        self.latestModelVersion = latestModelVersion
    }

    init(decoding r: inout _StateReader) throws {
        selector = try r.optional { try $0.blob() }
        reservoir = try r.optional { r in
            var m = ReservoirMemory(k: try r.int())
            m.records = try r.array { try $0.record() }
            m.seen = try r.u64()
            m.totalWeight = try r.double()
            m.rng.state = try r.u64()
            return m
        }
        sincePublish = try r.int()
        publishedOnce = try r.bool()
        lastReselections = try r.int()
        seenModel = try r.int()
        latestModel = try r.optional { try LinearModelSnapshot(decoding: &$0) }
        latestModelVersion = try r.int()
    }
}

/// The learner thread's part of a checkpoint (see `LearnerLoop.captureState()`).
struct _LearnerLoopState: Sendable {
    /// The learner's weights, configuration and optimizer counters (the `--model-out` format).
    var model: ModelFile
    /// `OnlineReplayLearner`'s own state, when the optimizer is SGD.
    var online: Online?
    var memory: [(record: Record, weight: Double)]
    var progressive: ProgressiveValidation
    var credit: Double
    var stepsSinceSnapshot: Int
    var recordsLearned: UInt64
    var reselections: Int
    var bytesOut: UInt64
    /// The learner thread's drift guard at the checkpoint (saved by `RunState.drift`, not here).
    var guardian: DriftGuard? = nil
    /// The learner thread's final-polish copies (saved by `RunState.polish`, not here).
    var polish: _FinalPolish? = nil

    struct Online: Sendable {
        var arrivals: Int
        var replayStepCount: Int
        var replayStepsSinceArrival: Int
        var replayRate: Double
        var totalStepSize: Double
        var rngState: UInt64
        var stepsOnMemory: Int
    }

    func encode(into w: inout _StateWriter) throws(CoresetError) {
        let json: Data
        do {
            json = try _stateJSON(model)
        } catch {
            throw .io(input: "checkpoint", message: "cannot encode the model (non-finite weights?): \(error)")
        }
        w.blob([UInt8](json))
        w.optional(online) { w, o in
            w.int(o.arrivals)
            w.int(o.replayStepCount)
            w.int(o.replayStepsSinceArrival)
            w.double(o.replayRate)
            w.double(o.totalStepSize)
            w.u64(o.rngState)
            w.int(o.stepsOnMemory)
        }
        w.array(memory) { w, e in
            w.record(e.record)
            w.double(e.weight)
        }
        let pv: Data
        do { pv = try _stateJSON(progressive) } catch {
            throw .io(input: "checkpoint", message: "cannot encode progressive validation: \(error)")
        }
        w.blob([UInt8](pv))
        w.double(credit)
        w.int(stepsSinceSnapshot)
        w.u64(recordsLearned)
        w.int(reselections)
        w.u64(bytesOut)
    }

    init(model: ModelFile, online: Online?, memory: [(record: Record, weight: Double)], progressive: ProgressiveValidation,
         credit: Double, stepsSinceSnapshot: Int, recordsLearned: UInt64, reselections: Int, bytesOut: UInt64,
         guardian: DriftGuard? = nil, polish: _FinalPolish? = nil) {
        self.guardian = guardian
        self.polish = polish
        self.model = model
        self.online = online
        self.memory = memory
        self.progressive = progressive
        self.credit = credit
        self.stepsSinceSnapshot = stepsSinceSnapshot
        self.recordsLearned = recordsLearned
        self.reselections = reselections
        self.bytesOut = bytesOut
    }

    init(decoding r: inout _StateReader) throws {
        model = try JSONDecoder().decode(ModelFile.self, from: Data(try r.blob()))
        online = try r.optional { r in
            Online(arrivals: try r.int(), replayStepCount: try r.int(), replayStepsSinceArrival: try r.int(),
                   replayRate: try r.double(), totalStepSize: try r.double(), rngState: try r.u64(), stepsOnMemory: try r.int())
        }
        memory = try r.array { r in (record: try r.record(), weight: try r.double()) }
        progressive = try JSONDecoder().decode(ProgressiveValidation.self, from: Data(try r.blob()))
        credit = try r.double()
        stepsSinceSnapshot = try r.int()
        recordsLearned = try r.u64()
        reselections = try r.int()
        bytesOut = try r.u64()
    }
}

extension _StateWriter {
    mutating func inputIdentities(_ inputs: [InputIdentity]) {
        array(inputs) { w, i in
            w.string(i.path)
            w.u64(i.device)
            w.u64(i.inode)
            w.int(Int(i.size))
            w.int(Int(i.modifiedSeconds))
            w.int(Int(i.modifiedNanoseconds))
        }
    }

    mutating func statistics(_ s: IngestStatistics) {
        u64(s.bytesIn)
        u64(s.bytesOut)
        u64(s.lines)
        u64(s.recordsAccepted)
        u64(s.recordsSkipped)
        u64(s.partialLinesDropped)
        int(s.inputsOpened)
    }

    mutating func readerPosition(_ p: ReaderPosition) {
        int(p.inputIndex)
        u64(p.byteOffset)
        u64(p.lineNumber)
        statistics(p.statistics)
        u64(p.bytesInDone)
        // LabelMap keeps private lookup tables: its Codable form is the exact round trip.
        blob([UInt8]((try? _stateJSON(p.labels)) ?? Data()))
        array(p.featureNames) { $0.string($1) }
        u64(p.nextPosition)
        int(p.reported)
    }
}

extension _StateReader {
    mutating func inputIdentities() throws -> [InputIdentity] {
        try array { r in
            InputIdentity(path: try r.string(), device: try r.u64(), inode: try r.u64(), size: Int64(try r.int()),
                          modifiedSeconds: Int64(try r.int()), modifiedNanoseconds: Int64(try r.int()))
        }
    }

    mutating func statistics() throws -> IngestStatistics {
        var s = IngestStatistics()
        s.bytesIn = try u64()
        s.bytesOut = try u64()
        s.lines = try u64()
        s.recordsAccepted = try u64()
        s.recordsSkipped = try u64()
        s.partialLinesDropped = try u64()
        s.inputsOpened = try int()
        return s
    }

    mutating func readerPosition() throws -> ReaderPosition {
        let inputIndex = try int(), byteOffset = try u64(), lineNumber = try u64()
        let statistics = try statistics()
        let bytesInDone = try u64()
        let labels = try JSONDecoder().decode(LabelMap.self, from: Data(try blob()))
        return ReaderPosition(
            inputIndex: inputIndex, byteOffset: byteOffset, lineNumber: lineNumber, statistics: statistics, bytesInDone: bytesInDone,
            labels: labels, featureNames: try array { try $0.string() }, nextPosition: try u64(), reported: try int())
    }
}

/// A `--state` directory in use: created if missing, locked for this process (two runs continuing
/// the same checkpoint would each count the records after it), and cleared of temporary files left
/// by a process killed while writing a checkpoint.
public enum StateDirectory {
    /// Takes the directory for this process's lifetime.
    /// - Throws: `CoresetError.usage` if another process holds it, `.io` if it cannot be created.
    public static func acquire(_ dir: String) throws(CoresetError) {
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw .io(input: dir, message: "cannot create the state directory: \(errnoDescription())")
        }
        let fd = open(dir + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(input: dir, message: "cannot create its lock file: \(errnoDescription())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .usage("\(dir): another coreset process is using this state directory")
        }
        // The descriptor stays open (and the lock held) until the process exits.
        if let names = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            for name in names where name.hasPrefix(RunState.fileName + ".tmp-") { unlink(dir + "/" + name) }
        }
    }
}

/// A checkpoint's drift guard: the reactive learner, the test's running sums, and the ingest side's
/// count of alarms acted on.
struct _DriftState: Sendable {
    var reactiveModel: ModelFile
    var reactive: _LearnerLoopState.Online
    var count: Int
    var mean: Double
    var squares: Double
    var walk: Double
    var lowest: Double
    var alarms: Int
    var lastAlarmArrival: Int
    var recentCost: Double
    /// Alarms the ingest side had acted on, and the re-selections of the selectors it replaced.
    var ingestEpoch: Int
    var reselectionsBefore: Int
    /// The stream position the ingest side's memory starts at (the record after the last alarm it acted on).
    var memoryStartsAt: UInt64

    init(_ g: DriftGuard, ingestEpoch: Int, reselectionsBefore: Int, memoryStartsAt: UInt64) {
        reactiveModel = g.reactive.learner.checkpointModelFile()
        reactive = _LearnerLoopState.Online(g.reactive)
        count = g.count
        mean = g.mean
        squares = g.squares
        walk = g.walk
        lowest = g.lowest
        alarms = g.alarms
        lastAlarmArrival = g.lastAlarmArrival
        recentCost = g.recentCost
        self.ingestEpoch = ingestEpoch
        self.reselectionsBefore = reselectionsBefore
        self.memoryStartsAt = memoryStartsAt
    }

    /// The guard as it stood.
    func guardian(_ configuration: DriftGuard.Configuration) throws(CoresetError) -> DriftGuard {
        let learner: Learner
        do { learner = try Learner(modelFile: reactiveModel) } catch {
            throw .badFile(path: "checkpoint", message: "drift guard: \(error)")
        }
        var g = DriftGuard(configuration: configuration, learner: learner)
        g.reactive.arrivals = reactive.arrivals
        g.reactive.totalStepSize = reactive.totalStepSize
        g.reactive.rng.state = reactive.rngState
        g.count = count
        g.mean = mean
        g.squares = squares
        g.walk = walk
        g.lowest = lowest
        g.alarms = alarms
        g.lastAlarmArrival = lastAlarmArrival
        g.recentCost = recentCost
        return g
    }

    func encode(into w: inout _StateWriter) throws(CoresetError) {
        let json: Data
        do { json = try _stateJSON(reactiveModel) } catch {
            throw .io(input: "checkpoint", message: "cannot encode the drift guard's model (non-finite weights?): \(error)")
        }
        w.blob([UInt8](json))
        w.int(reactive.arrivals)
        w.double(reactive.totalStepSize)
        w.u64(reactive.rngState)
        w.int(count)
        w.double(mean)
        w.double(squares)
        w.double(walk)
        w.double(lowest)
        w.int(alarms)
        w.int(lastAlarmArrival)
        w.int(ingestEpoch)
        w.int(reselectionsBefore)
        w.double(recentCost)
        w.u64(memoryStartsAt)
    }

    init(decoding r: inout _StateReader) throws {
        reactiveModel = try JSONDecoder().decode(ModelFile.self, from: Data(try r.blob()))
        let arrivals = try r.int(), total = try r.double(), rngState = try r.u64()
        reactive = _LearnerLoopState.Online(arrivals: arrivals, replayStepCount: 0, replayStepsSinceArrival: 0, replayRate: 0,
                                            totalStepSize: total, rngState: rngState, stepsOnMemory: 0)
        count = try r.int()
        mean = try r.double()
        squares = try r.double()
        walk = try r.double()
        lowest = try r.double()
        alarms = try r.int()
        lastAlarmArrival = try r.int()
        ingestEpoch = try r.int()
        reselectionsBefore = try r.int()
        // Absent in checkpoints written before the guard judged the final passes.
        recentCost = r.atEnd ? 0 : try r.double()
        memoryStartsAt = r.atEnd ? 0 : try r.u64()
    }
}

extension _LearnerLoopState.Online {
    /// The counters of an `OnlineReplayLearner` (its model is saved apart, as a model file).
    init(_ o: OnlineReplayLearner) {
        self.init(arrivals: o.arrivals, replayStepCount: o.replayStepCount, replayStepsSinceArrival: o.replayStepsSinceArrival,
                  replayRate: o.replayRate, totalStepSize: o.totalStepSize, rngState: o.rng.state, stepsOnMemory: o.stepsOnMemory)
    }
}

extension OnlineReplayLearner {
    /// Puts back a checkpoint's counters and memory (the model is restored apart, from its model file).
    mutating func restore(_ o: _LearnerLoopState.Online, memory: [(record: Record, weight: Double)]) {
        arrivals = o.arrivals
        replayStepCount = o.replayStepCount
        replayStepsSinceArrival = o.replayStepsSinceArrival
        replayRate = o.replayRate
        totalStepSize = o.totalStepSize
        rng.state = o.rngState
        guard !memory.isEmpty else { return }
        setMemory(ReplaySet(records: memory.map(\.record), weights: memory.map(\.weight)))
        stepsOnMemory = o.stepsOnMemory
    }
}
