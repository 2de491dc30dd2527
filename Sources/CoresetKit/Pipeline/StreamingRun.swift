#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `coreset run` does with the stream.
public struct RunConfiguration: Sendable {
    /// How the learner uses arriving records and the memory.
    public enum Mode: String, Sendable, CaseIterable {
        /// Score each arriving record, take one online step on it, and replay the memory between
        /// arrivals (the default: measured here to beat both a subset alone and one pass).
        case onlineReplay = "online-replay"
        /// CRAIG's recipe: learn only from the weighted memory (arrivals are scored, not learned).
        case coresetOnly = "coreset-only"
        /// One pass, one step per record, no memory (as Vowpal Wabbit).
        case onlineOnly = "online-only"
    }

    /// What the bounded replay memory holds.
    public enum Memory: String, Sendable, CaseIterable {
        /// The weighted coreset kept by the streaming selector (closed loop in gradient space).
        case coreset
        /// A uniform reservoir sample of the same size, weights n/k: the baseline.
        case reservoir
    }

    public var mode: Mode = .onlineReplay
    public var memory: Memory = .coreset
    public var selector: SelectorConfiguration
    /// The learner; nil takes the defaults for the task found at the start of the stream.
    public var learner: LearnerConfiguration?
    /// The task, when the caller knows it; nil decides it from the first records (more than two classes
    /// among them: multiclass). A binary run then refuses records of a third class as bad records, naming
    /// this option, instead of learning them as positives.
    public var task: TaskKind?
    /// Replay steps earned by each arriving record.
    public var replayStepsPerRecord: Double = 1
    /// ω: a replay step's share of an arrival's step budget relative to the online step
    /// (`OnlineReplayConfiguration.replayWeight`; SGD only).
    public var replayWeight: Double = 0.1
    /// How replay draws from the memory (SGD; `ReplayDraw`).
    public var replayDraw: ReplayDraw = .weight
    /// Keep replaying while no input arrives (a followed file that is quiet).
    public var replayWhenIdle = false
    /// Passes over the final memory after the stream ends (replay steps, the schedule continued on the
    /// virtual clock). At the end of a finite input the final memory stands for the stream (since the last
    /// drift alarm), and CRAIG's point is that training on a weighted coreset approaches training on the
    /// data it stands for: 10 passes, as coreset-only, cost 10k steps. Why 10 and not 1: more passes help a
    /// coreset, while a uniform sample starts to overfit them (tools/bench_replay; docs/drift.md).
    public var finalEpochs: Double = 10
    /// After the final passes, train on the memory with a fresh decaying step for as many passes as a
    /// forward validation says pay (`_FinalPolish`; SGD only, 0 when none pays).
    public var finalPolish = true
    /// Records between memory snapshots handed to the learner (at least; a snapshot is also held
    /// back until reading the previous one out cost under a tenth of the time since, except in
    /// `synchronous` runs, which must not depend on the clock).
    public var publishEvery = 5000
    /// Drift detection (`DriftGuard`): on an alarm the learner adopts the reactive model and the
    /// memory restarts from the records after it. Nil turns it off. Online + replay with SGD only.
    public var drift: DriftGuard.Configuration? = DriftGuard.Configuration()
    /// Learner steps between model snapshots handed to the selector (closed loop).
    public var modelSnapshotEvery = 2000
    /// Call `StreamingRun.onCheckpoint` every this many records (periodic saves).
    public var checkpointEvery: Int?
    /// Run selection and learning in lockstep on one thread: slower, fully deterministic.
    public var synchronous = false
    /// Batches in flight between the ingest thread and the learner (back-pressure beyond).
    public var channelCapacity = 4
    /// Worker threads for the selector (`CoresetSelector.useThreads`; the coreset does not depend on it).
    /// 1 by default: the learner has a core of its own.
    public var selectionThreads = 1

    public init(selector: SelectorConfiguration) {
        self.selector = selector
    }
}

/// A progress row, at doubling record counts (as Vowpal Wabbit prints them).
public struct RunProgress: Sendable {
    public var row: ProgressiveValidation.Row
    public var accuracy: Double
    public var holdout: EvaluationSummary?
    public var bytesOut: UInt64
    /// Compressed input bytes read (against the input files' size: percent done).
    public var bytesIn: UInt64 = 0
    public var memoryCount: Int
    public var replayPasses: Double
    public var reselections: Int
    public var elapsed: Double
}

/// The outcome of a run.
public struct RunResult: Sendable {
    public var learner: Learner
    public var memory: [(record: Record, weight: Double)]
    public var progressive: ProgressiveValidation
    public var statistics: IngestStatistics
    public var reselections: Int
    /// Drift alarms raised (`RunConfiguration.drift`); the memory restarted after each.
    public var driftAlarms: Int
    /// Where the final memory was drawn from: records of the stream from this position on (0, or the
    /// record after the last drift alarm).
    public var memoryStartsAt: UInt64 = 0
    /// What became of the final passes over the memory (`RunConfiguration.finalEpochs`): nil when none were
    /// due (no memory, or 0 passes), else the drift guard's verdict (`.run` without a guard).
    public var finalPasses: DriftGuard.FinalPasses?
    /// Passes of the final polish (`RunConfiguration.finalPolish`): nil when it could not be judged (no
    /// final passes, a stream too short, another optimizer), 0 when no length paid.
    public var finalPolishPasses: Int?
    public var storedElements: Int
    public var storedElementBound: Int
    public var seconds: Double
    /// The error that ended the stream early, after everything before it was used.
    public var streamError: CoresetError?
}

/// Compressed stream in, weighted coreset maintained, model learning from it all the time.
///
/// Ingest and selection run on the calling thread, the learner on a thread of its own; a bounded
/// channel between them gives back-pressure. The learner publishes model snapshots that the
/// selector picks up (gradient-space distances, re-selection when the model moved); the selector
/// publishes memory snapshots that the learner replays. Stale snapshots are fine; neither blocks
/// on the other beyond the channel.
public final class StreamingRun {
    public let configuration: RunConfiguration
    private let reader: RecordReader
    private let holdout: [Record]
    private let onProgress: @Sendable (RunProgress) -> Void
    private let start = monotonicSeconds()
    /// The learner asked for, made into a configuration once the task and the rows' mean squared norm are
    /// known (from the first batch); `configuration.learner` comes first, and without either the task's
    /// defaults with the SGD step scaled by `defaultStepSize(meanSquaredNorm:)`.
    public var learnerRecipe: LearnerRecipe?
    /// Start from this learner (a saved model) instead of a fresh one.
    public var initialLearner: Learner?
    /// Called on the learner's thread every `checkpointEvery` records with the learner, the label
    /// mapping and feature names known then, and the records learned from.
    public var onCheckpoint: (@Sendable (Learner, LabelMap, [String], UInt64) -> Void)?

    /// State checkpoints (`--state`): taken after the batch that passes this many records since
    /// the last one, or this many seconds, on an interrupt, and at the end of the stream (before
    /// the end-of-stream work, so a restart after a completed run reproduces its outputs).
    public var stateCheckpointEvery: CheckpointSchedule.Interval?
    /// Receives each checkpoint on the ingest thread (e.g. `RunState.write(toDirectory:)`); a
    /// thrown error ends the run with that error, the previous checkpoint staying in place.
    public var onStateCheckpoint: ((RunState) throws(CoresetError) -> Void)?
    /// Recorded in checkpoints; a run resumed from one must have the same.
    public var checkpointOptions = ""
    private var resumed: RunState?
    private var restoredSelector: CoresetSelector?
    private var restoredLearner: _StreamLearner?
    private var restoredGuard: DriftGuard?
    private var restoredPolish: _FinalPolish?

    enum Message: Sendable {
        /// `bytesIn`: compressed input bytes read so far (progress against the input's size).
        case batch(RecordBatch, bytesIn: UInt64 = 0, bytesOut: UInt64, labels: LabelMap, featureNames: [String])
        /// `epoch`: drift alarms the ingest side had acted on when it took the snapshot.
        case memory(ReplaySet, reselections: Int, epoch: Int)
        /// A barrier: the learner answers with its state once it has handled every earlier message.
        case checkpoint(_CheckpointBarrier)
        /// The stream has ended: the learner answers once it has learned every batch (and raised any alarm
        /// they bring), before its final passes wait for the last memory.
        case drained(_Promise<Void>)
    }

    public init(reader: RecordReader, configuration: RunConfiguration, holdout: [Record] = [],
                onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) {
        self.reader = reader
        self.configuration = configuration
        self.holdout = holdout
        self.onProgress = onProgress
    }

    /// Continues from a checkpoint: call before `run()`, on a run of the same configuration whose
    /// reader has not been read from. Moves the reader to the saved position and rebuilds the
    /// selector (or reservoir) and the learner.
    /// - Throws: `CoresetError` if the state does not fit this run or the input cannot be re-read
    ///   up to the saved position.
    public func resume(from state: RunState) throws(CoresetError) {
        try state.check(options: checkpointOptions, inputs: try currentInputIdentities(), directory: "checkpoint")
        let usesMemory = configuration.mode != .onlineOnly
        if usesMemory && configuration.memory == .coreset {
            guard let bytes = state.ingest.selector else { throw .badFile(path: "checkpoint", message: "holds no selector state (another --memory or --mode)") }
            restoredSelector = try CoresetSelector(restoring: bytes, configuration: configuration.selector, task: state.task, source: "checkpoint")
        } else if usesMemory && state.ingest.reservoir == nil {
            throw .badFile(path: "checkpoint", message: "holds no reservoir (another --memory or --mode)")
        }
        let learner: Learner
        do { learner = try Learner(modelFile: state.learner.model) } catch {
            throw .badFile(path: "checkpoint", message: "\(error)")
        }
        var restored = _StreamLearner(resuming: learner, replayWeight: configuration.replayWeight, draw: configuration.replayDraw)
        if let o = state.learner.online {
            guard restored.online != nil else { throw .badFile(path: "checkpoint", message: "optimizer state does not match the learner") }
            restored.online!.restore(o, memory: state.learner.memory)
        } else if !state.learner.memory.isEmpty {
            let m = state.learner.memory
            restored.setMemory(ReplaySet(records: m.map(\.record), weights: m.map(\.weight)))
        }
        if let saved = state.drift, let drift = configuration.drift { restoredGuard = try saved.guardian(drift) }
        if let bytes = state.polish {
            var r = _StateReader(bytes)
            do { restoredPolish = try _FinalPolish(decoding: &r, replayWeight: configuration.replayWeight, draw: configuration.replayDraw) } catch {
                throw .badFile(path: "checkpoint", message: "final polish: \(error)")
            }
        }
        try reader.resume(from: state.reader, source: "checkpoint")
        restoredLearner = restored
        resumed = state
    }

    private func currentInputIdentities() throws(CoresetError) -> [InputIdentity] {
        var identities: [InputIdentity] = []
        for case .file(let path) in reader.inputs { identities.append(try InputIdentity(path: path)) }
        return identities
    }

    /// Runs to the end of the stream (or an interrupt, or a stream error) and returns the result.
    public func run() -> RunResult {
        var streamError: CoresetError?
        // Checkpoints record the inputs' identities as they were when reading began.
        var identities = resumed?.inputs ?? []
        if onStateCheckpoint != nil && resumed == nil {
            do { identities = try currentInputIdentities() } catch { streamError = error }
        }
        var first: RecordBatch?
        if streamError == nil {
            do { first = try reader.next() } catch { streamError = error }
        }
        let labels = reader.labels
        // A resumed run keeps the task its stream started with (classes seen later do not change it).
        let task: TaskKind = resumed?.task ?? configuration.task
            ?? (labels.isRegression ? .regression : (labels.classCount > 2 ? .multiclass : .binary))
        // A binary learner takes any class id >= 1 for the positive class: once both classes are known,
        // a third is a bad record (named, counted, or the stop under --strict), never a silent positive.
        var classesFixed = false
        func fixBinaryClasses(_ reader: RecordReader) throws(CoresetError) {
            guard task == .binary, !classesFixed else { return }
            let hint = "; the run learns a binary task"
                + (configuration.task == nil ? " (decided from its first records)" : "")
                + ": pass --task multiclass when later records bring more classes"
            if reader.labels.classCount > 2 {
                throw .usage("label \(reader.labels.name(of: 2)) is a third class in \(reader.currentInputName)" + hint)
            }
            if reader.labels.classCount == 2 {
                reader.fixClasses(hint: hint)
                classesFixed = true
            }
        }
        let meanSquaredNorm = first?.meanSquaredNorm ?? 0
        let learnerConfiguration = configuration.learner ?? learnerRecipe?.configuration(task: task, meanSquaredNorm: meanSquaredNorm)
            ?? LearnerConfiguration(task: task, schedule: .inverseScaling(eta0: defaultStepSize(meanSquaredNorm: meanSquaredNorm), decay: 1e-3, power: 0.5))
        let streamLearner = restoredLearner
            ?? initialLearner.map { _StreamLearner(resuming: $0, replayWeight: configuration.replayWeight, draw: configuration.replayDraw) }
            ?? _StreamLearner(configuration: learnerConfiguration, replayWeight: configuration.replayWeight, draw: configuration.replayDraw)
        let loop = LearnerLoop(
            learner: streamLearner,
            configuration: configuration,
            holdout: holdout, start: start, onProgress: onProgress)
        let models = LatestValue<LinearModelSnapshot>()
        loop.models = models
        let alarms = LatestValue<_DriftAlarm>()
        // Drift alarms acted on (the memory restarted), and re-selections of the selectors replaced.
        var epoch = 0
        var reselectionsBefore = 0
        if let drift = configuration.drift, configuration.mode == .onlineReplay, let online = streamLearner.online {
            loop.alarms = alarms
            if let saved = resumed?.drift, let g = restoredGuard {
                loop.guardian = g
                loop.epoch = g.alarms
                // A checkpoint is taken after the ingest side acted on every alarm, so none is pending here.
                alarms.restore(_DriftAlarm(count: g.alarms, restartAt: 0), version: g.alarms)
                epoch = saved.ingestEpoch
                reselectionsBefore = saved.reselectionsBefore
            } else {
                loop.guardian = DriftGuard(configuration: drift, learner: online.learner)
            }
        }
        loop.onCheckpoint = onCheckpoint
        if let r = resumed { loop.restore(r.learner) }
        if let p = restoredPolish { loop.polish = p }

        let usesMemory = configuration.mode != .onlineOnly
        // An empty memory of the run's kind: at the start, and again after a drift alarm.
        func freshSelector() -> CoresetSelector {
            let s = CoresetSelector(configuration: configuration.selector, task: task)
            if configuration.selectionThreads > 1 { s.useThreads(configuration.selectionThreads) }
            return s
        }
        func freshReservoir() -> ReservoirMemory { ReservoirMemory(k: configuration.selector.k, seed: configuration.selector.seed) }
        var selector = usesMemory && configuration.memory == .coreset ? restoredSelector ?? freshSelector() : nil
        if let restoredSelector, configuration.selectionThreads > 1 { restoredSelector.useThreads(configuration.selectionThreads) }
        var reservoir = usesMemory && configuration.memory == .reservoir ? resumed?.ingest.reservoir ?? freshReservoir() : nil

        let channel = BoundedChannel<Message>(capacity: configuration.channelCapacity)
        let learnerDone = _Promise<Void>()
        if !configuration.synchronous {
            _startThread {
                loop.consume(channel)
                learnerDone.fulfil(())
            }
        }
        func deliver(_ m: Message) {
            if configuration.synchronous { loop.handle(m) } else { channel.send(m) }
        }

        var seenModel = resumed?.ingest.seenModel ?? 0
        var sincePublish = resumed?.ingest.sincePublish ?? 0
        var lastReselections = resumed?.ingest.lastReselections ?? 0
        if let r = resumed { models.restore(r.ingest.latestModel, version: r.ingest.latestModelVersion) }
        func memorySnapshot(final: Bool = false) -> ReplaySet? {
            if let selector {
                // The last read-out is waited for by the learner's final passes and nothing else runs then: on
                // every core (the same coreset at any thread count; a lockstep run stays on one thread).
                let threads = final && !configuration.synchronous
                    ? max(configuration.selectionThreads, min(4, ProcessInfo.processInfo.activeProcessorCount)) : 1
                let c = ((threads > 1 ? selector.readOut()?.coreset(threads: threads) : nil) ?? selector.coreset).weightedRecords
                return c.isEmpty ? nil : ReplaySet(records: c.map(\.record), weights: c.map(\.weight))
            }
            if let reservoir {
                let c = reservoir.weightedRecords
                return c.isEmpty ? nil : ReplaySet(records: c.map(\.record), weights: c.map(\.weight))
            }
            return nil
        }
        var publishedOnce = resumed?.ingest.publishedOnce ?? false
        var nextPublishTime = 0.0

        // The batches passed on to the learner that it may not have learned yet (it is at most the channel's
        // capacity and the one in hand behind), kept while a drift guard may restart the memory, and the
        // records passed on so far (a checkpoint is taken when the learner has learned them all).
        let keepsRecentBatches = usesMemory && loop.guardian != nil
        var recentBatches: [(start: UInt64, batch: RecordBatch)] = []
        var recordsPassedOn = resumed?.learner.recordsLearned ?? 0
        var memoryStartsAt = resumed?.drift?.memoryStartsAt ?? 0
        /// Picks up the learner's newest model for gradient-space selection.
        func takeNewestModel() {
            if let selector, let (snapshot, v) = models.take(newerThan: seenModel) {
                seenModel = v
                selector.updateModel(snapshot)
            }
        }
        /// Acts on the learner's newest drift alarm: the memory restarts (fresh selector or reservoir, new
        /// draws) from the record after the one that raised it. Why the kept batches: the learner runs
        /// batches behind this thread, so when the alarm reaches it the records just after the change (the
        /// ones the new memory is for) were already offered to the old memory; without them a late alarm
        /// left the run with no memory at all (magic by fLength: 0 of 152 records).
        func restartMemoryAfterAlarm() {
            guard let (alarm, n) = alarms.take(newerThan: epoch), n > epoch else { return }
            epoch = n
            memoryStartsAt = alarm.restartAt
            // The same seed: the records are new, so the draws are too (and a checkpoint's selector
            // state must carry the run's configuration to resume).
            if let old = selector {
                reselectionsBefore += old.reselectionCount
                selector = freshSelector()
                lastReselections = 0
                seenModel = 0
            }
            if reservoir != nil { reservoir = freshReservoir() }
            publishedOnce = false
            takeNewestModel()
            for (start, batch) in recentBatches where start + UInt64(batch.count) > alarm.restartAt {
                let from = alarm.restartAt > start ? Int(alarm.restartAt - start) : 0
                if let selector {
                    selector.offer(batch, rows: from..<batch.count)
                } else if reservoir != nil {
                    for i in from..<batch.count { reservoir!.offer(batch[i]) }
                }
            }
        }
        func publishMemory(final: Bool = false) {
            let t0 = monotonicSeconds()
            if let m = memorySnapshot(final: final) {
                deliver(.memory(m, reselections: reselectionsBefore + (selector?.reselectionCount ?? 0), epoch: epoch))
                publishedOnce = true
            }
            // Reading a coreset out costs a pass over references and stored elements: keep that
            // under about a tenth of the ingest thread's time.
            let now = monotonicSeconds()
            nextPublishTime = now + 9 * (now - t0)
            sincePublish = 0
        }

        do { try fixBinaryClasses(reader) } catch {
            streamError = error
        }
        // From here the reader runs on a thread of its own, a batch or two ahead; the classes are fixed there.
        let stream = ReadAheadReader(reader) { r throws(CoresetError) in try fixBinaryClasses(r) }
        defer { stream.close() }

        // A fresh run has nothing on disk yet; a resumed one starts where its checkpoint stands.
        let engine = StreamEngine(unsaved: resumed == nil)
        if let save = onStateCheckpoint {
            engine.checkpoints = .init(schedule: stateCheckpointEvery.map { CheckpointSchedule(every: $0) }) { () throws(CoresetError) in
                guard let position = stream.position else { return }
                let learnerState: _LearnerLoopState
                if self.configuration.synchronous {
                    learnerState = loop.captureState()
                } else {
                    let barrier = _CheckpointBarrier()
                    channel.send(.checkpoint(barrier))
                    learnerState = barrier.wait()
                }
                // The learner has learned everything passed on: act on its alarms now, so that a run resumed
                // from here restarts its memory exactly as an uninterrupted one does.
                restartMemoryAfterAlarm()
                let (latest, latestVersion) = models.current()
                let ingest = _IngestState(
                    selector: try selector?.encodedState(), reservoir: reservoir, sincePublish: sincePublish,
                    publishedOnce: publishedOnce, lastReselections: lastReselections, seenModel: seenModel,
                    latestModel: latest, latestModelVersion: latestVersion)
                try save(RunState(options: self.checkpointOptions, inputs: identities, reader: position, task: task,
                                  ingest: ingest, learner: learnerState,
                                  drift: learnerState.guardian.map {
                                      _DriftState($0, ingestEpoch: epoch, reselectionsBefore: reselectionsBefore, memoryStartsAt: memoryStartsAt)
                                  }, polish: try learnerState.polish.map { p throws(CoresetError) in
                                      var w = _StateWriter()
                                      try p.encode(into: &w)
                                      return w.bytes
                                  }))
            }
        }

        if streamError == nil {
            // The learner's work never throws: what ends the stream early is its fault, a checkpoint that
            // could not be written (both reported as the run's error), or an interrupt.
            let outcome = engine.run(stream, first: first) { b in
                restartMemoryAfterAlarm()
                takeNewestModel()
                if let selector {
                    selector.offer(b)
                } else if reservoir != nil {
                    for i in 0..<b.count { reservoir!.offer(b[i]) }
                }
                deliver(.batch(b, bytesIn: stream.statistics.bytesIn, bytesOut: stream.statistics.bytesOut, labels: stream.labels,
                               featureNames: stream.featureNames))
                if keepsRecentBatches {
                    recentBatches.append((recordsPassedOn, b))
                    if recentBatches.count > configuration.channelCapacity + 2 { recentBatches.removeFirst() }
                }
                recordsPassedOn += UInt64(b.count)
                sincePublish += b.count
                let reselected = (selector?.reselectionCount ?? 0) != lastReselections
                lastReselections = selector?.reselectionCount ?? 0
                // The time rule is not used in lockstep: a synchronous run must not depend on the clock.
                let due = sincePublish >= configuration.publishEvery
                    && (configuration.synchronous || monotonicSeconds() >= nextPublishTime)
                // A re-selection publishes at once when it chose the new coreset itself (the sieves); with
                // sample-greedy it only re-embedded the reservoir, and the choice is the read-out, paced
                // like any other (forced, it was most of a census_kdd run: 9 read-outs of 0.3 s each).
                let reselectionPublishes = reselected && configuration.selector.algorithm != .sampleGreedy
                if usesMemory && (due || reselectionPublishes || !publishedOnce) {
                    publishMemory()
                }
                if configuration.synchronous { loop.replayCredited() }
                return .whole
            }
            streamError = outcome.streamError ?? outcome.checkpointError.map { $0 as? CoresetError ?? .usage("\($0)") }
        }
        // An alarm in the last batches reaches this thread only once the learner has learned them.
        if keepsRecentBatches {
            if !configuration.synchronous {
                let drained = _Promise<Void>()
                channel.send(.drained(drained))
                drained.wait()
            }
            restartMemoryAfterAlarm()
        }
        selector?.finish()
        if usesMemory { publishMemory(final: true) }
        if configuration.synchronous {
            loop.finish()
        } else {
            channel.close()
            learnerDone.wait()
        }
        return RunResult(
            learner: loop.learner.learner, memory: loop.memoryRecords, progressive: loop.progressive,
            statistics: stream.statistics, reselections: reselectionsBefore + (selector?.reselectionCount ?? 0),
            driftAlarms: loop.guardian?.alarms ?? 0, memoryStartsAt: memoryStartsAt, finalPasses: loop.finalPasses, finalPolishPasses: loop.polishOutcome?.passes,
            storedElements: selector?.storedElementCount ?? (reservoir?.records.count ?? 0),
            storedElementBound: selector?.storedElementBound ?? configuration.selector.k,
            seconds: monotonicSeconds() - start, streamError: streamError)
    }
}

/// The learner's side of a run: owned by one thread at a time.
final class LearnerLoop: @unchecked Sendable {
    var learner: _StreamLearner
    let configuration: RunConfiguration
    let holdout: [Record]
    let start: Double
    let onProgress: @Sendable (RunProgress) -> Void
    var models: LatestValue<LinearModelSnapshot>?
    var progressive = ProgressiveValidation()
    var credit = 0.0
    var stepsSinceSnapshot = 0
    var bytesOut: UInt64 = 0
    var bytesIn: UInt64 = 0
    var reselections = 0
    var memoryRecords: [(record: Record, weight: Double)] = []
    var recordsLearned: UInt64 = 0
    /// The final polish's copies of the learner (`RunConfiguration.finalPolish`; SGD only), and what it did.
    var polish = _FinalPolish()
    var polishOutcome: _FinalPolish.Outcome?
    /// Drift detection (`RunConfiguration.drift`), and where its alarm count is published for the ingest side.
    var guardian: DriftGuard?
    var alarms: LatestValue<_DriftAlarm>?
    /// The final passes' fate (`RunResult.finalPasses`), set by `finish`.
    var finalPasses: DriftGuard.FinalPasses?
    /// Alarms raised: memory snapshots taken before the ingest side acted on the latest are stale.
    var epoch = 0
    var onCheckpoint: (@Sendable (Learner, LabelMap, [String], UInt64) -> Void)?

    init(learner: _StreamLearner, configuration: RunConfiguration, holdout: [Record], start: Double,
         onProgress: @escaping @Sendable (RunProgress) -> Void) {
        self.learner = learner
        self.configuration = configuration
        self.holdout = holdout
        self.start = start
        self.onProgress = onProgress
    }

    /// The learner thread: take batches as they come, replay between them.
    ///
    /// Each batch's replay credit is spent before the next batch is taken, so replay keeps pace with the
    /// stream whichever thread is faster. Why: when queued batches came first, a learner slower than
    /// ingest deferred its replay to the end of the stream (never, on an endless one, with the credit
    /// growing without bound), and the result depended on the machine and varied from run to run
    /// (docs/drift.md, "History: pacing and the final pass"). Back-pressure then paces ingest to the learner's
    /// R + 1 steps per record.
    func consume(_ channel: BoundedChannel<Message>) {
        while true {
            if credit >= 1 && learner.memoryCount > 0 {
                replay(min(Int(credit), 64))
                continue
            }
            let (message, ended) = channel.tryReceive()
            if let message {
                handle(message)
                continue
            }
            if ended { break }
            if configuration.replayWhenIdle && learner.memoryCount > 0 {
                replay(64)
                continue
            }
            guard let next = channel.receive() else { break }
            handle(next)
        }
        finish()
    }

    typealias Message = StreamingRun.Message

    func handle(_ message: Message) {
        switch message {
        case .batch(let batch, let read, let bytes, let labels, let names):
            bytesIn = read
            bytesOut = bytes
            learnBatch(batch)
            recordsLearned += UInt64(batch.count)
            if let every = configuration.checkpointEvery, let onCheckpoint,
               recordsLearned / UInt64(every) != (recordsLearned - UInt64(batch.count)) / UInt64(every)
            {
                onCheckpoint(learner.learner, labels, names, recordsLearned)
            }
        case .memory(let set, let r, let e):
            reselections = r
            guard e >= epoch else { break }
            learner.setMemory(set)
            memoryRecords = (0..<set.count).map { (set.records[$0], set.weights[$0]) }
        case .checkpoint(let barrier):
            barrier.fulfil(captureState())
        case .drained(let done):
            done.fulfil(())
        }
    }

    /// The learner's side of a checkpoint: everything learned so far, as it stands now.
    func captureState() -> _LearnerLoopState {
        let online = learner.online.map(_LearnerLoopState.Online.init)
        return _LearnerLoopState(
            model: learner.learner.checkpointModelFile(), online: online, memory: memoryRecords, progressive: progressive, credit: credit,
            stepsSinceSnapshot: stepsSinceSnapshot, recordsLearned: recordsLearned, reselections: reselections, bytesOut: bytesOut,
            guardian: guardian, polish: polish)
    }

    /// Puts back the counters of a checkpoint (the learner itself is restored by `StreamingRun.resume`).
    func restore(_ s: _LearnerLoopState) {
        memoryRecords = s.memory
        progressive = s.progressive
        credit = s.credit
        stepsSinceSnapshot = s.stepsSinceSnapshot
        recordsLearned = s.recordsLearned
        reselections = s.reselections
        bytesOut = s.bytesOut
    }

    private func learnBatch(_ batch: RecordBatch) {
        let learnsOnline = configuration.mode != .coresetOnly
        let polishes = configuration.finalPolish && configuration.finalEpochs > 0 && learner.online != nil
        for i in 0..<batch.count {
            let scored = learnsOnline ? learner.observe(batch, row: i) : learner.score(batch[i])
            if polishes && polish.learned(batch, row: i, loss: scored.loss, learned: recordsLearned + UInt64(i) + 1) {
                polish.copy(learner.online!, memory: memoryRecords, learned: recordsLearned + UInt64(i) + 1)
            }
            if learnsOnline { noteSteps(1) }
            if guardian != nil, guardian!.observe(batch, row: i, stableLoss: scored.loss, replaying: learner.memoryCount > 0) {
                driftAlarm(restartAt: recordsLearned + UInt64(i) + 1)
            }
            // Online + replay earns no replay while there is nothing to replay: the credit would be
            // spent at once on the first memory (a fresh start's, or the one after a drift alarm),
            // tens of passes over a few hundred records in one go, and the model overfits them
            // (adult, k = 390: test log-loss 0.596 against 0.346). Coreset-only learns from the memory
            // alone, so there the credit is the stream's whole step budget and is kept.
            if configuration.mode == .coresetOnly || (configuration.mode == .onlineReplay && learner.memoryCount > 0) {
                credit += configuration.replayStepsPerRecord
            }
            // Replay right after the arrival that earned it, so R steps follow each record whatever
            // the batch size. Why: spent after the batch (about 9,000 records per 1 MiB chunk on
            // adult) the credit became thousands of replay steps in a row, with R̂ ≈ 0 so each on the
            // idle clock: tens of passes over the memory that pulled the model to the memory's own
            // optimum after every batch (adult, k = 390: test log-loss 0.43 against 0.34 at 64 KiB chunks).
            if learnsOnline && credit >= 1 && learner.memoryCount > 0 { replay(Int(credit)) }
            if let row = progressive.update(scored, label: batch.labels[i], weight: batch.weights[i]) { report(row) }
        }
    }

    /// The replayed model lost to the reactive one: take the reactive model, drop the memory, and tell
    /// the ingest side, which restarts it from `restartAt` (records of the stream before the next memory).
    private func driftAlarm(restartAt: UInt64) {
        guard let g = guardian, learner.online != nil else { return }
        learner.online!.adoptModel(of: g.reactive)
        learner.online!.clearMemory()
        memoryRecords = []
        polish.reset()
        epoch = g.alarms
        alarms?.publish(_DriftAlarm(count: epoch, restartAt: restartAt))
    }

    /// Synchronous mode: spend the replay credit now.
    func replayCredited() {
        if credit >= 1 && learner.memoryCount > 0 { replay(Int(credit)) }
    }

    private func replay(_ steps: Int) {
        guard steps > 0 else { return }
        learner.replay(steps: steps)
        credit = max(0, credit - Double(steps))
        noteSteps(steps)
    }

    private func noteSteps(_ n: Int) {
        stepsSinceSnapshot += n
        if let models, stepsSinceSnapshot >= configuration.modelSnapshotEvery {
            stepsSinceSnapshot = 0
            models.publish(learner.snapshot())
        }
    }

    func finish() {
        replayCredited()
        var runsFinalPasses = configuration.finalEpochs > 0 && learner.memoryCount > 0
        if runsFinalPasses { finalPasses = .run }
        if runsFinalPasses, let g = guardian, learner.online != nil {
            finalPasses = g.finalPasses
            switch g.finalPasses {
            case .run: break
            case .skip: runsFinalPasses = false
            case .adoptReactive:
                learner.online!.adoptModel(of: g.reactive)
                runsFinalPasses = false
            }
        }
        if runsFinalPasses {
            let finalSteps = Int((configuration.finalEpochs * Double(learner.memoryCount)).rounded())
            if configuration.finalPolish, learner.online != nil {
                // Reading is over: its core can try a polish length beside the final passes (not in lockstep).
                let spareCore = !configuration.synchronous && ProcessInfo.processInfo.activeProcessorCount > 1
                let verdict = polish.judge(spareCore: spareCore) { replay(finalSteps) }
                polishOutcome = _FinalPolish.apply(verdict, to: &learner.online!)
            } else {
                replay(finalSteps)
            }
        }
        if progressive.total.count > 0 { report(progressive.takeRow()) }
    }

    private func report(_ row: ProgressiveValidation.Row) {
        let holdoutSummary = holdout.isEmpty ? nil : learner.learner.evaluate(holdout)
        onProgress(RunProgress(
            row: row, accuracy: progressive.correct.value, holdout: holdoutSummary, bytesOut: bytesOut, bytesIn: bytesIn,
            memoryCount: learner.memoryCount, replayPasses: learner.replayPasses, reselections: reselections,
            elapsed: monotonicSeconds() - start))
    }
}

/// The learner a run drives: `OnlineReplayLearner` for SGD (one step budget per arrival shared with
/// replay), or a plain `Learner` whose SAGA/SVRG replay runs over the memory.
struct _StreamLearner: Sendable {
    var online: OnlineReplayLearner?
    var plain: Learner?

    init(resuming learner: Learner, replayWeight: Double, draw: ReplayDraw) {
        if learner.configuration.optimizer == .sgd {
            online = OnlineReplayLearner(resuming: learner, replayWeight: replayWeight, draw: draw)
        } else {
            plain = learner
        }
    }

    init(configuration: LearnerConfiguration, replayWeight: Double, draw: ReplayDraw) {
        if configuration.optimizer == .sgd {
            var c = OnlineReplayConfiguration(learner: configuration, replayWeight: replayWeight)
            c.replayDraw = draw
            online = OnlineReplayLearner(configuration: c)
        } else {
            plain = Learner(configuration: configuration)
        }
    }

    var learner: Learner { online?.learner ?? plain! }

    mutating func observe(_ batch: RecordBatch, row i: Int) -> Scored {
        if online != nil { return online!.observe(batch, row: i) }
        return plain!.learn(batch[i])
    }

    func score(_ record: Record) -> Scored { online?.score(record) ?? plain!.score(record) }

    mutating func replay(steps: Int) {
        if online != nil { online!.replay(steps: steps) } else { plain!.replaySteps(steps) }
    }

    mutating func setMemory(_ set: ReplaySet) {
        if online != nil { online!.setMemory(set) } else { plain!.setReplaySet(set) }
    }

    var memoryCount: Int { online?.memoryCount ?? plain!.replaySetCount }
    var replayPasses: Double { online?.replayPasses ?? plain!.replayPasses }

    mutating func snapshot() -> LinearModelSnapshot {
        if online != nil { return online!.snapshot() }
        return plain!.snapshot()
    }
}

/// A one-shot rendezvous: the ingest thread waits until the learner thread hands over its state.
typealias _CheckpointBarrier = _Promise<_LearnerLoopState>

/// A drift alarm as the learner publishes it: how many it has raised, and the stream position (records
/// since the run began) from which the ingest side restarts the memory.
struct _DriftAlarm: Sendable {
    var count: Int
    var restartAt: UInt64
}
