#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The final polish of `run`: after the final passes, train on the memory with a fresh decaying step, as
/// `train` does on a file, for as many passes as a forward validation says pay.
///
/// Why: the final passes continue the online schedule, whose steps are tiny by the end of a stream, so
/// the model stops far from the memory's optimum. On letter (k = 10%) `run` ended at test log-loss
/// 1.62 while `train` on the same memory reached 1.19; on shuttle 0.21 against full data's 0.16. But
/// the memory's optimum is not always better: a memory of 160 records overfits when trained to
/// convergence (letter at 1%: 2.2-5.5), and on a drifting stream the memory stands for the past (adult
/// sorted by age: 0.44 without polish, 0.58 with 20 passes).
///
/// So the length is chosen by forward validation. Copies of the learner are taken as the stream goes
/// (every max(2,000, N/8) records), each with the records that arrive after it (up to 4,000) and the run's
/// own progressive loss on them (scored before learning from them). At the end, the newest copy with at
/// least 2,000 such records gets polishes of L/4 and L passes (L up to 32; each
/// from η₀ decaying to η₀/100, at most four times as many steps as records seen), scored on its records.
/// The length that scores best is used on the live learner, provided it beats the better of the unpolished
/// copy and the run's progressive loss over the same records, record by record, by more than twice the
/// standard error of the mean difference: a static model that cannot clearly beat the learner that kept
/// adapting through those records would lose to it further on a drifting stream. Measured over the replay
/// grid and the design's variants: docs/drift.md, "Final polish".
struct _FinalPolish: Sendable {
    /// Records after a copy needed to judge it; a copy keeps up to twice as many.
    static let window = 2000
    /// The longest polish, in passes over the memory.
    static let maxPasses = 32
    /// Model weights beyond which no copies are kept, so nothing is polished: 2^22 (32 MiB). Why: a copy holds
    /// the whole model, and a hashed stream's (2^24 buckets) is 128 MiB; copies of it took `run` from 645 MB to
    /// 1.08 GB and 19.7 s to 24.3 s, on a stream whose polish then chose none.
    static let maxModelWeights = 1 << 22

    /// Candidate lengths in passes: the longest L within the budget (a power of two up to `maxPasses`, its
    /// steps at most four times the records seen: a polish costs a few passes of SGD over the stream) and
    /// L/4. Why so few: over the replay grid (tools/bench_replay) the lengths chosen among 1, 2, 4, ..., 32
    /// were mostly none, 16 or 32, and each candidate costs its passes on the copy.
    static func lengths(memory m: Int, seen: Int) -> [Int] {
        guard m > 0 else { return [] }
        var longest = 1
        while longest < maxPasses && 2 * longest * m <= 4 * max(seen, m) { longest *= 2 }
        return [longest / 4, longest].filter { $0 > 0 }
    }

    struct Probe: Sendable {
        var learner: OnlineReplayLearner
        /// Its memory with the weights (for checkpoints).
        var memory: [(record: Record, weight: Double)]
        /// Records learned when the copy was taken.
        var at: UInt64
        var validation: [Record] = []
        /// The run's own loss on each record of `validation`, scored before it learned the record.
        var onlineLosses: [Double] = []
    }

    var current: Probe?
    var previous: Probe?
    /// The model outgrew `maxModelWeights` (models only grow): no more copies are offered.
    var modelTooLarge = false

    /// What the polish did (`RunResult.finalPolishPasses` reports its passes).
    struct Outcome: Sendable, Equatable {
        /// Passes chosen (0: none paid).
        var passes: Int
        /// Validation loss of the unpolished copy, of the chosen length, and the run's progressive loss there.
        var unpolished: Double
        var polished: Double
        var progressive: Double
    }

    /// Row `i` of `batch`, just learned by the run, which scored it `loss` before learning it: joins the
    /// newest copy's records while it has room. Returns whether a new copy is due (`copy`): max(`window`,
    /// learned / 8) records passed since the last. Record by record, so the copies do not depend on how the
    /// input is cut; the learner is passed only when a copy is due (this runs for every record).
    mutating func learned(_ batch: RecordBatch, row i: Int, loss: Double, learned: UInt64) -> Bool {
        guard !modelTooLarge else { return false }
        if current != nil && current!.validation.count < 2 * Self.window && loss.isFinite {
            current!.validation.append(batch[i])
            current!.onlineLosses.append(loss)
            // The newest copy can be judged now: the one before it will not be.
            if current!.validation.count == Self.window && current!.learner.memoryCount > 0 { previous = nil }
        }
        guard let at = current?.at else { return true }
        return learned - at >= UInt64(max(Self.window, Int(learned / 8)))
    }

    /// Takes a copy of `learner` (none of a model over `maxModelWeights`, and the older ones dropped).
    mutating func copy(_ learner: OnlineReplayLearner, memory: [(record: Record, weight: Double)], learned: UInt64) {
        let model = learner.learner.model
        guard model.dimension * model.outputCount <= Self.maxModelWeights else {
            reset()
            modelTooLarge = true
            return
        }
        previous = current
        current = Probe(learner: learner, memory: memory, at: learned)
    }

    /// A drift alarm replaced the memory: the copies hold the old one.
    mutating func reset() {
        current = nil
        previous = nil
    }

    /// Chooses the polish length on the newest judged copy and applies it to `learner`; nil when no copy
    /// could be judged (a short stream, a model over `maxModelWeights`) or an interrupt came.
    func polish(_ learner: inout OnlineReplayLearner) -> Outcome? {
        Self.apply(judge(spareCore: false), to: &learner)
    }

    /// Chooses the polish length on the newest judged copy; nil when no copy could be judged or an interrupt
    /// came. `meanwhile` (the live learner's final passes) runs on this thread during the trial. With a spare
    /// core the longest length is tried on a thread of its own, beside `meanwhile` and the shorter length:
    /// the trials work on copies, so the verdict is a single thread's (the trial was up to half of a
    /// reservoir run's time on the replay grid).
    func judge(spareCore: Bool, meanwhile: () -> Void = {}) -> Outcome? {
        let judged = [current, previous].compactMap { $0 }.filter { $0.learner.memoryCount > 0 && !$0.validation.isEmpty }
        guard let probe = judged.first(where: { $0.validation.count >= Self.window }) ?? judged.first else {
            meanwhile()
            return nil
        }
        // The copy is judged without the final passes the live learner took: their steps are the end of the
        // online schedule's, small beside the polish's, and on mnist at 10% they were a third of the trial.
        let lengths = Self.lengths(memory: probe.learner.memoryCount, seen: probe.learner.arrivals)
        // One length's losses on the validation records; nil when an interrupt stopped it.
        let trial: @Sendable (Int) -> [Double]? = { passes in
            var t = probe.learner
            return Self.run(&t, passes: passes) ? Self.losses(t.learner, probe.validation) : nil
        }
        var results: [[Double]?] = []
        if spareCore, lengths.count > 1 {
            struct Losses: Sendable { var values: [Double]? }
            let longest = _Promise<Losses>()
            let passes = lengths.last!
            _startThread { longest.fulfil(Losses(values: trial(passes))) }
            meanwhile()
            results = lengths.dropLast().map(trial) + [longest.wait().values]
        } else {
            meanwhile()
            results = lengths.map(trial)
        }
        guard !Interruption.requested, results.allSatisfy({ $0 != nil }) else { return nil }
        let unpolishedLosses = Self.losses(probe.learner.learner, probe.validation)
        let unpolished = Self.mean(unpolishedLosses, probe.validation)
        let progressive = Self.mean(probe.onlineLosses, probe.validation)
        // The polish must beat the better of the two: the copy as it is, and the run that kept learning.
        let reference = unpolished <= progressive ? unpolishedLosses : probe.onlineLosses
        var best = (passes: 0, loss: min(unpolished, progressive), polished: Double.nan)
        for (passes, losses) in zip(lengths, results.map { $0! }) {
            let loss = Self.mean(losses, probe.validation)
            if loss < best.loss && Self.clearlyLower(losses, than: reference, probe.validation) { best = (passes, loss, loss) }
        }
        return Outcome(passes: best.passes, unpolished: unpolished, polished: best.polished, progressive: progressive)
    }

    /// Polishes `learner` for the verdict's passes, in place (a copy would double the model): interrupted,
    /// the learner keeps the passes it took and nil is returned.
    static func apply(_ verdict: Outcome?, to learner: inout OnlineReplayLearner) -> Outcome? {
        guard let verdict else { return nil }
        if verdict.passes > 0 && !run(&learner, passes: verdict.passes) { return nil }
        return verdict
    }

    /// Each record's loss under `learner`.
    static func losses(_ learner: Learner, _ records: [Record]) -> [Double] { records.map { learner.score($0).loss } }

    /// The weighted mean of per-record losses.
    static func mean(_ losses: [Double], _ records: [Record]) -> Double {
        var s = 0.0, w = 0.0
        for (l, r) in zip(losses, records) { s += r.weight * l; w += r.weight }
        return w > 0 ? s / w : .infinity
    }

    /// Whether `losses` are lower than `reference` record by record beyond noise: the mean paired difference
    /// exceeds twice its standard error. Why: on a slowly drifting stream (adult sorted by age) a polish can
    /// win on the records after the copy by a hair (0.0001-0.007 in log-loss) and then lose on what follows
    /// by 0.07-0.09; where the polish pays (letter, shuttle) it wins by tens of standard errors.
    static func clearlyLower(_ losses: [Double], than reference: [Double], _ records: [Record]) -> Bool {
        var n = 0.0, sum = 0.0, squares = 0.0
        for ((a, b), r) in zip(zip(losses, reference), records) where a.isFinite && b.isFinite {
            let d = r.weight * (b - a)
            n += 1
            sum += d
            squares += d * d
        }
        guard n >= 2 else { return false }
        let mean = sum / n, variance = max(0, (squares - n * mean * mean) / (n - 1))
        return mean > 2 * (variance / n).squareRoot()
    }

    /// `passes` passes over the memory, the step decaying exponentially from η₀ to η₀/100 (`train`'s default);
    /// false when an interrupt stopped it between passes.
    static func run(_ l: inout OnlineReplayLearner, passes: Int) -> Bool {
        let m = l.memoryCount
        let eta0 = l.configuration.learner.schedule.rate(at: 0), total = Double(passes * m)
        for pass in 0..<passes {
            if Interruption.requested { return false }
            let offset = pass * m
            l.polish(steps: m) { s in eta0 * pow(0.01, Double(offset + s) / total) }
        }
        return true
    }

    // MARK: Checkpoints

    func encode(into w: inout _StateWriter) throws(CoresetError) {
        for probe in [current, previous] {
            w.bool(probe != nil)
            guard let p = probe else { continue }
            try _LearnerLoopState(
                model: p.learner.learner.checkpointModelFile(), online: .init(p.learner),
                memory: p.memory,
                progressive: ProgressiveValidation(), credit: 0, stepsSinceSnapshot: 0, recordsLearned: p.at, reselections: 0,
                bytesOut: 0
            ).encode(into: &w)
            w.array(p.validation) { w, r in w.record(r) }
            w.doubles(p.onlineLosses)
        }
    }

    /// The copies of a checkpoint, rebuilt as `StreamingRun.resume` rebuilds the live learner.
    init(decoding r: inout _StateReader, replayWeight: Double, draw: ReplayDraw) throws {
        var probes: [Probe?] = []
        for _ in 0..<2 {
            guard try r.bool() else { probes.append(nil); continue }
            let s = try _LearnerLoopState(decoding: &r)
            var l = OnlineReplayLearner(resuming: try Learner(modelFile: s.model), replayWeight: replayWeight, draw: draw)
            if let o = s.online { l.restore(o, memory: s.memory) }
            var p = Probe(learner: l, memory: s.memory, at: s.recordsLearned)
            p.validation = try r.array { r in try r.record() }
            p.onlineLosses = try r.doubles()
            guard p.onlineLosses.count == p.validation.count else {
                throw _StateReader.Corrupt(offset: r.offset, reason: "final polish: \(p.validation.count) records, \(p.onlineLosses.count) losses")
            }
            probes.append(p)
        }
        current = probes[0]
        previous = probes[1]
    }

    init() {}
}
