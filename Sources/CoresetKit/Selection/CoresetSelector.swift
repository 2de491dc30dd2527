#if canImport(Glibc)
import Glibc
#else
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#endif

/// A bounded-memory, incrementally updated weighted coreset of a stream, chosen by streaming
/// submodular maximisation of CRAIG's per-class facility location.
///
/// **Objective.** Per class c (one ground set for regression), F_c(S) = Σ_{i ∈ V_c} max_{j ∈ S} s(i, j)
/// (Mirzasoleiman, Bilmes, Leskovec, ICML 2020). While streaming, V_c is a seeded reservoir sample of
/// R_c = max(`referenceSize`, `referenceFactor` · k_c) records of the class (Vitter's Algorithm R,
/// k_c the class's share of k): a bounded picture of everything the class has sent so far, much
/// larger than the class's budget, and never smaller than it, so the read-out always has at least
/// k_c candidates. A class's sieves start only once its reservoir is full (or at `finish()`), by
/// replaying the reservoir's records in arrival order, so early decisions are not taken against a
/// ground set of a handful of records; until then the reservoir holds every record of the class, so
/// at the start it is exactly uniform. If the class's share grows after its start, R_c grows with it:
/// the next records are appended until the reservoir reaches its new size (then Algorithm R goes on
/// at that size), which leans the sample towards the records after the growth until replacements
/// dilute them. When the reservoir replaces a reference record, every sieve's coverage of that slot
/// is recomputed from its members, so coverage is never stale.
///
/// **Scale.** The similarity scale (D for Euclidean, γ for RBF without a given γ) is fixed once, from the
/// first `warmUp` records of the stream (all classes), and changes only on a re-selection in gradient
/// space. Every record is processed on its own, in order, with per-record draws, so the result does not
/// depend on how the stream is cut into batches.
///
/// **Algorithms.** Sieve-Streaming (Badanidiyuru et al., KDD 2014), Sieve-Streaming++ (Kazemi et al.,
/// ICML 2019), ThreeSieves (Buschjäger et al., 2020) and offline lazy greedy (Minoux 1978; CRAIG).
/// The answer per class is the best sieve, topped up to the class's budget by lazy greedy over the other
/// stored elements and the reservoir (the fill policy), or trimmed by greedy if the class's share shrank.
///
/// **Weights.** Every record adds its input weight to the most similar stored element of its class
/// (itself, if a sieve accepted it). When an element leaves the store, its weight moves to the most
/// similar remaining element. When the coreset is read, each stored element's weight (its cell) is split
/// over the selected elements in the proportions in which the references of that cell pick their most
/// similar selected element (whole to its most similar selected element if no reference falls in the
/// cell). Totals per class are therefore exact: the accepted input weight, decayed by `halfLife` if
/// set, or that of the last `window` records. In gradient space (without a window) these weights are then
/// fitted to the whole gradient at the model, from the classes' gradient sums kept as the stream flows
/// (`Weighting.gradientMatch`, the default; `_GradientSum`), with the same totals.
///
/// **Closed loop.** `updateModel(_:)` switches to gradient space and re-selects when the model has
/// moved enough (see `SelectorConfiguration.reselectionThreshold`).
///
/// Not thread-safe: confine an instance to one task. With `useThreads(_:)` it runs part of the work on
/// worker threads of its own, invisibly to the caller.
public final class CoresetSelector {
    public let configuration: SelectorConfiguration
    public let task: TaskKind

    var kernel: _Kernel
    var scaleFixed = false
    /// The pairwise feature dots of the last re-selection's scale sample, by arrival (a cache: not saved in
    /// checkpoints, recomputed to the same values when absent).
    var scaleSampleDots: (arrivals: [UInt64], dots: [Float])?
    var warmUpBuffer: [Record] = []
    var classes: [_ClassState?] = []
    var arrivals: UInt64 = 0
    var decayOrigin: UInt64 = 0
    var latestVersion = 0
    /// The sieves' threshold grid (1 + ε)^i, and the rule of the sieve algorithm (nil: no sieves).
    let grid: _ThresholdGrid
    let sieveRule: (any _SieveRule)?
    let effectiveWarmUp: Int
    /// Window mode: class id and input weight of the last `window` records (ring by arrival), so the
    /// weight leaving the window is known exactly — 12 bytes per record of the window, no features.
    var windowClass: [Int32] = []
    var windowWeight: [Double] = []
    /// Window mode: arrivals per weight block (window / 16, at least 1).
    let blockSize: Int
    /// With `shards` > 1: the shards, record i going to shard i mod g (`CoresetSelector+Shards`);
    /// this selector then only deals records and combines the shards' answers.
    var shardSelectors: [CoresetSelector] = []
    /// Worker threads (`useThreads`); nil: everything runs on the caller's thread.
    var lanes: _WorkerLanes?
    /// A record's residual while it is offered to `sampleGreedy` (no point is built for a record the
    /// reservoir does not take).
    var residualScratch: [Float] = []
    /// Whether `offerToSieves` may reject whole bands of sieves at once (`_SieveBands`). The decisions
    /// are the same either way; tests turn it off to compare.
    var usesSieveBands = true
    /// A class's start: how many earlier references' similarities each reference keeps for the next
    /// ones (`start`); 0 computes every pass whole. The output is the same either way.
    var startReuseWindow = 500
    /// Largest candidate × reference matrix a re-selection keeps in memory (floats); past it, rows are
    /// recomputed where needed (`reselectClass`). A variable so tests can force that path.
    var reselectionRowBudget = 1 << 25

    /// Records offered so far.
    public var recordsSeen: Int { Int(arrivals) }
    /// Number of re-selections triggered by `updateModel(_:)` (shards re-select together: the most of any shard).
    public internal(set) var reselectionCount: Int {
        get { shardSelectors.isEmpty ? ownReselectionCount : shardSelectors.map(\.reselectionCount).max() ?? 0 }
        set { ownReselectionCount = newValue }
    }
    var ownReselectionCount = 0
    /// Records seen at the latest re-selection (spacing rule, `SelectorConfiguration.reselectionSpacing`).
    public internal(set) var lastReselectionArrival: UInt64 = 0
    /// Model snapshot the geometry currently uses (nil: feature space).
    public var currentEmbedding: (any GradientEmbedding)? {
        settle()
        return shardSelectors.first?.currentEmbedding ?? kernel.embedding
    }

    /// Creates a selector.
    /// - Precondition: `configuration.validationError() == nil`.
    public init(configuration: SelectorConfiguration, task: TaskKind) {
        if let e = configuration.validationError() { preconditionFailure(e) }
        self.configuration = configuration
        self.task = task
        kernel = _Kernel(kind: .cosine, embedding: nil)
        grid = _ThresholdGrid(epsilon: configuration.epsilon)
        sieveRule = configuration.sieveRule
        effectiveWarmUp = max(2, min(configuration.warmUp, configuration.referenceSize))
        blockSize = max(1, ((configuration.window ?? 16) + 15) / 16)
        let g = configuration.shards
        if g > 1 { shardSelectors = (0..<g).map { CoresetSelector(configuration: configuration.shardConfiguration($0), task: task) } }
    }

    // No waiting here: nothing queued refers to this selector any more (work holds it strongly), and
    // this may run on a worker thread.
    deinit { lanes?.stop() }

    // MARK: - Threads

    /// Threads that process records: 1 (the caller's) unless `useThreads` gave more.
    public var threads: Int { lanes?.count ?? 1 }

    /// Spreads the per-record work over up to `n` worker threads: the shards (with `shards` > 1, shard s
    /// on thread s mod n) or else the classes (class c on thread c mod n; a stream with one class, as
    /// regression, gains nothing). The caller's thread keeps what is shared (arrival counts, class
    /// shares, the embedding, the gradient sums) and hands each record's class step on, so every class
    /// sees its records in arrival order with the inputs it would see alone: the coreset, weights and
    /// checkpoints are exactly those of one thread, at any n and any batching. Every other call
    /// (`coreset`, `updateModel`, `encodedState`, the counters, ...) first waits for the workers.
    /// Windows and half-lives stay on one thread (expiry and decay touch every class), as does greedy.
    /// Worth it on mnist-like streams (10 classes): `tools/bench_selection`.
    public func useThreads(_ n: Int) {
        precondition(n >= 1)
        lanes?.shutdown()
        lanes = nil
        let parallel = shardSelectors.count > 1
            || (configuration.window == nil && configuration.halfLife == nil && configuration.algorithm != .greedy)
        let count = shardSelectors.count > 1 ? min(n, shardSelectors.count) : n
        if parallel && count > 1 { lanes = _WorkerLanes(count: count) }
    }

    /// Waits until the workers have processed every record offered (nothing to do without workers).
    @inline(__always)
    func settle() { lanes?.settle() }

    // MARK: - Public counters

    /// Distinct records held by the sieves (the algorithm's state; the reservoir is counted apart).
    public var storedElementCount: Int {
        settle()
        if !shardSelectors.isEmpty { return shardSelectors.reduce(0) { $0 + $1.storedElementCount } }
        return classes.reduce(0) { $0 + ($1?.poolCount ?? 0) }
    }

    /// Records held in the reference reservoirs: per started class at most its reservoir size
    /// max(`referenceSize`, `referenceFactor` · k_c), k_c its largest share since its start (a class's
    /// reservoir can exceed that by what it held when its share fell; with a window, by what it held at
    /// its start). A class that has not started holds all its records, fewer than that size.
    public var referenceCount: Int {
        settle()
        if !shardSelectors.isEmpty { return shardSelectors.reduce(0) { $0 + $1.referenceCount } }
        return classes.reduce(0) { $0 + ($1?.refCount ?? 0) }
    }

    /// Size of class c's reference reservoir now: max(R, f · k_c) with R = `referenceSize`,
    /// f = `referenceFactor` and k_c the class's current share (before its start) or its largest share
    /// since its start (so a started class's reservoir never shrinks).
    public func referenceTarget(ofClass c: Int) -> Int {
        settle()
        if !shardSelectors.isEmpty { return shardSelectors.reduce(0) { $0 + $1.referenceTarget(ofClass: c) } }
        guard c < classes.count, let s = classes[c] else { return configuration.referenceSize }
        return referenceTarget(s)
    }

    @inline(__always)
    func referenceTarget(_ c: _ClassState) -> Int {
        let f = configuration.referenceFactor
        guard f > 0 else { return configuration.referenceSize }
        let share = c.started ? c.maxCapacity : c.capacity
        let (p, o) = f.multipliedReportingOverflow(by: share)
        return max(configuration.referenceSize, o ? Int.max : p)
    }

    /// The algorithm's bound on `storedElementCount`, summed over classes, with k_c the largest share
    /// class c ever had and L = ln(1 + ε):
    /// - Sieve-Streaming: k_c · (⌊ln k_c / L⌋ + 2), i.e. O(k log k / ε);
    /// - Sieve-Streaming++: k_c · (⌊ln(2(1+ε)) / L⌋ + 2) + ⌈k_c (1+ε)/ε⌉, i.e. O(k / ε);
    /// - ThreeSieves: k_c, i.e. O(k);
    /// - greedy: unbounded (the whole stream).
    public var storedElementBound: Int {
        settle()
        if !shardSelectors.isEmpty {
            return shardSelectors.reduce(0) { let (s, o) = $0.addingReportingOverflow($1.storedElementBound); return o ? Int.max : s }
        }
        var b = 0
        for case let c? in classes where c.started {
            if let rule = sieveRule {
                b += rule.storeBound(budget: c.maxCapacity, grid: grid)
            } else if configuration.algorithm == .greedy {
                return Int.max
            }  // sample-greedy stores nothing between read-outs
        }
        return b
    }

    /// Classes seen so far (ids 0..<count; regression has one).
    public var classCount: Int {
        settle()
        return shardSelectors.isEmpty ? classes.count : shardSelectors.map(\.classCount).max()!
    }

    /// Accepted input weight of class c (decayed to now if a half-life is set; of the records in the
    /// window if a window is set).
    public func inputWeight(ofClass c: Int) -> Double {
        settle()
        if !shardSelectors.isEmpty { return shardSelectors.reduce(0) { $0 + $1.inputWeight(ofClass: c) } }
        guard c < classes.count, let s = classes[c] else { return 0 }
        return s.inputWeight * decayFactorNow
    }

    /// Records of class c seen so far.
    public func recordCount(ofClass c: Int) -> Int {
        settle()
        if !shardSelectors.isEmpty { return shardSelectors.reduce(0) { $0 + $1.recordCount(ofClass: c) } }
        guard c < classes.count, let s = classes[c] else { return 0 }
        return s.seen
    }

    /// The objective with its frozen scale (for exact evaluation by benchmarks). Before the warm-up
    /// is complete the scale is fitted from the records seen so far.
    public var objective: FacilityLocation {
        settle()
        if let first = shardSelectors.first { return first.objective }  // each shard fixes its own scale
        if scaleFixed { return FacilityLocation(kernel: kernel) }
        return FacilityLocation.fitted(configuration.similarity, sample: warmUpBuffer, embedding: kernel.embedding)
    }

    // MARK: - Streaming

    /// Processes a batch, record by record in order.
    /// - Complexity: per record, O(R · nnz) for its similarities to the R references, O(P · nnz) for the
    ///   P stored elements (weight assignment and reservoir upkeep), and O(R) per sieve queried
    ///   (O(log k / ε) sieves for Sieve-Streaming, O(1/ε · log k) live for ++, 1 for ThreeSieves).
    ///   No memory per record beyond the bounded store and reservoir (greedy keeps every record).
    public func offer(_ batch: RecordBatch) { offer(batch, rows: 0..<batch.count) }

    /// Processes the records `rows` of `batch`, in order (no copy of the batch).
    public func offer(_ batch: RecordBatch, rows: Range<Int>) {
        for i in rows { offerOne(batch[i]) }
        lanes?.flush()
    }

    /// Processes one record. Labels of classification tasks must be class ids >= 0.
    public func offer(_ record: Record) {
        offerOne(record)
        lanes?.flush()
    }

    /// `offer` without handing the workers what is queued: each call of `offer` hands it on before it
    /// returns, so no work (which holds the selector) waits in a half-filled batch after it, and a
    /// selector nobody reads any more is freed once its workers are done.
    func offerOne(_ record: Record) {
        if !shardSelectors.isEmpty {
            let g = UInt64(shardSelectors.count)
            let shard = Int(arrivals % g)
            if let lanes {
                let selector = shardSelectors[shard]
                lanes.submit(shard) { selector.offer(record) }
            } else {
                shardSelectors[shard].offer(record)
            }
            arrivals += 1
            return
        }
        let arrival = arrivals
        if let n = configuration.window, arrival >= UInt64(n) { expire(arrival: arrival - UInt64(n)) }
        arrivals += 1
        if !scaleFixed {
            warmUpBuffer.append(record)
            if warmUpBuffer.count >= effectiveWarmUp {
                settle()  // the kernel changes
                fixScale(from: warmUpBuffer)
            }
        }
        let cid = task == .regression ? 0 : max(0, record.classIndex)
        let cls = classState(cid)
        cls.seen += 1
        if let n = configuration.window {
            cls.inWindow += 1
            if windowClass.count < n {
                windowClass.append(Int32(cid))
                windowWeight.append(record.weight)
            } else {
                windowClass[Int(arrival % UInt64(n))] = Int32(cid)
                windowWeight[Int(arrival % UInt64(n))] = record.weight
            }
        }
        let capacity = share(of: cls)
        maybeRenormaliseDecay()
        let scaled = record.weight * scaleFactor(arrival: arrival)
        cls.inputWeight += scaled

        if configuration.algorithm == .sampleGreedy {
            cls.capacity = capacity
            if cls.started { cls.maxCapacity = max(cls.maxCapacity, capacity) }
            var r: [Float] = []
            if let e = kernel.embedding {
                swap(&r, &residualScratch)  // a local buffer: no exclusivity check per access
                e.residual(features: record.features, label: record.label, into: &r)
                if matchesGradients {
                    r.withUnsafeBufferPointer { cls.gradientSum.add(features: record.features, residual: $0, weight: scaled) }
                }
            }
            sampleStep(record, arrival: arrival, residual: r, in: cls, ordinal: cls.seen, weight: scaled)
            if kernel.embedding != nil { swap(&r, &residualScratch) }
            return
        }
        let point = kernel.point(record, arrival: arrival)
        if matchesGradients && kernel.embedding != nil { cls.gradientSum.add(point, weight: scaled) }
        if configuration.algorithm == .greedy {
            cls.capacity = capacity
            cls.all.append(point)
            return
        }
        // What the class's own step needs is read here, so the step may run on another thread.
        let ordinal = cls.seen
        if let lanes {
            lanes.submit(cid) { [self] in classStep(point, in: cls, ordinal: ordinal, capacity: capacity, weight: scaled) }
        } else {
            classStep(point, in: cls, ordinal: ordinal, capacity: capacity, weight: scaled)
        }
    }

    /// A record's part that touches only its class (the sieves, weights, reservoir): on a worker lane
    /// with `useThreads`, else inline. `capacity` is the class's share computed when it arrived.
    func classStep(_ point: _Point, in cls: _ClassState, ordinal: Int, capacity: Int, weight: Double) {
        cls.capacity = capacity
        if cls.started { cls.maxCapacity = max(cls.maxCapacity, capacity) }
        if !cls.started {
            if configuration.window != nil {
                windowAdmit(point, in: cls, selfSlot: nil, poolSims: [])
            } else {
                cls.appendReference(point)
                if configuration.halfLife != nil { cls.refPriority.append(halfLifePriority(point.arrival)) }
            }
            if cls.refCount >= referenceTarget(cls) { start(cls) }
            return
        }
        if screens {
            // The reservoir's draw is made here (process would make the same one), so a record the screen
            // does not offer still gets the reservoir's upkeep, and one that is neither costs O(1).
            let j = Int(cls.rng.below(UInt64(ordinal)))
            if isCandidate(point.arrival, ordinal: ordinal, in: cls) {
                process(point, in: cls, ordinal: ordinal, weight: weight, replay: false, reservoirDraw: j)
            } else if cls.refCount < referenceTarget(cls) || j < cls.refCount {
                enterReservoir(point, in: cls, weight: weight, draw: j)
            } else {
                cls.pending.plain += weight
            }
            return
        }
        process(point, in: cls, ordinal: ordinal, weight: weight, replay: false)
    }

    /// A record the screen did not offer but the reservoir takes: the reservoir's upkeep of `process`
    /// (its similarities to the stored elements, for the sieves' covers of the new reference, and its
    /// weight to the most similar stored element) without its similarities to the references.
    func enterReservoir(_ p: _Point, in c: _ClassState, weight: Double, draw j: Int) {
        var poolSims: [Float] = []
        swap(&poolSims, &c.poolSimScratch)
        defer { swap(&poolSims, &c.poolSimScratch) }
        poolSimilarities(p, c, into: &poolSims)
        if let s = argmax(poolSims, c) { c.pool[s]!.weight.plain += weight } else { c.pending.plain += weight }
        reservoirUpkeep(p, in: c, draw: j, selfSlot: nil, poolSims: poolSims)
    }

    /// Whether the candidate screen is on (`SelectorConfiguration.candidateFactor`).
    var screens: Bool {
        configuration.candidateFactor > 0 && configuration.window == nil && configuration.halfLife == nil
    }

    /// The screen's decision for the record that arrived at `arrival`, the class's `ordinal`-th: offered
    /// with probability min(1, F · R_c / n_c), by a hash of the seed and the arrival (not the class's
    /// generator, whose draws belong to the reservoir).
    func isCandidate(_ arrival: UInt64, ordinal: Int, in c: _ClassState) -> Bool {
        let rate = configuration.candidateFactor * Double(referenceTarget(c)) / Double(ordinal)
        guard rate < 1 else { return true }
        var h = SeededGenerator(seed: configuration.seed ^ 0x5CEE_4E5C_4EE4_5EED ^ (arrival &* 0xD6E8_FEB8_6659_FD93))
        return Double(h.next() >> 11) * 0x1p-53 < rate
    }

    /// Ends the stream: classes whose reservoir never filled are started now (their ground set is then
    /// every record they sent). Offering more records afterwards is allowed.
    public func finish() {
        settle()
        for s in shardSelectors { s.finish() }
        if !scaleFixed && warmUpBuffer.count >= 1 { fixScale(from: warmUpBuffer) }
        guard configuration.algorithm != .greedy && configuration.algorithm != .sampleGreedy else { return }
        for case let c? in classes where !c.started && c.refCount > 0 { start(c) }
    }

    // MARK: - Internals

    /// Whether classes keep their gradient sum for `Weighting.gradientMatch` (gradient space, no window).
    var matchesGradients: Bool {
        configuration.weighting == .gradientMatch && configuration.space == .gradient && configuration.window == nil
    }

    func classState(_ id: Int) -> _ClassState {
        while classes.count <= id { classes.append(nil) }
        if let c = classes[id] { return c }
        let c = _ClassState(id: id, seed: configuration.seed, referenceSize: configuration.referenceSize,
                            keepsReferenceFeatures: configuration.window != nil)
        c.residualStride = kernel.embedding?.residualCount ?? 0
        // Sample-greedy compares nothing with its references while streaming: they keep their features
        // as records (a store would cost an update per reservoir replacement), and the read-out lays
        // out each cell's own matrix.
        if configuration.algorithm == .sampleGreedy { c.refStore = _ColumnStore(dimension: 0, columns: 1, disabled: true) }
        // A class first seen while a snapshot is in use: its sum is exact from its first record.
        if matchesGradients, let e = kernel.embedding { c.gradientSum.reset(residualCount: e.residualCount, hasBias: e.hasBias) }
        classes[id] = c
        return c
    }

    func fixScale(from sample: [Record]) {
        let e = kernel.embedding
        kernel = _Kernel.make(configuration.similarity, embedding: e, sample: sample)
        scaleFixed = true
        warmUpBuffer = []
    }

    /// The class's share of k now: proportional to its frequency (rounded up) or equal. Read on the
    /// caller's thread when a record arrives; the class's step sets it as its sieve capacity.
    func share(of c: _ClassState) -> Int {
        let k = configuration.k
        let cap: Int
        if task == .regression {
            cap = k
        } else {
            switch configuration.budgetSplit {
            case .proportional:
                if let n = configuration.window {
                    cap = Int((Double(k) * Double(c.inWindow) / Double(min(arrivals, UInt64(n)))).rounded(.up))
                } else {
                    cap = Int((Double(k) * Double(c.seen) / Double(arrivals)).rounded(.up))
                }
            case .equal: cap = (k + classes.count { $0 != nil } - 1) / max(1, classes.count { $0 != nil })
            }
        }
        return max(1, min(k, cap))
    }

    var decayFactorNow: Double {
        guard let h = configuration.halfLife else { return 1 }
        return Foundation_exp2(-Double(arrivals &- decayOrigin) / h)
    }

    /// Weights are stored as w · 2^((t − origin)/h) so decay costs nothing per record.
    func scaleFactor(arrival: UInt64) -> Double {
        Self.scaleFactor(arrival: arrival, origin: decayOrigin, halfLife: configuration.halfLife)
    }

    static func scaleFactor(arrival: UInt64, origin: UInt64, halfLife: Double?) -> Double {
        guard let h = halfLife else { return 1 }
        return Foundation_exp2((Double(arrival) - Double(origin)) / h)
    }

    /// Moves the decay origin before the stored factors overflow (at fixed record counts, so batch
    /// boundaries do not matter).
    func maybeRenormaliseDecay() {
        guard let h = configuration.halfLife, Double(arrivals &- decayOrigin) / h > 64 else { return }
        let f = decayFactorNow
        for case let c? in classes {
            c.inputWeight *= f
            c.pending.plain *= f
            for s in c.pool.indices { c.pool[s]?.weight.plain *= f }
            c.gradientSum.scale(by: f)
        }
        decayOrigin = arrivals
    }

    /// Starts the sieves of a class by replaying its reservoir (all its records so far, in order).
    func start(_ c: _ClassState) {
        c.started = true
        c.maxCapacity = max(c.maxCapacity, c.capacity)
        // With a window the slots are not in arrival order (expiries move them): replay in arrival order.
        let refs = c.refs
        let order = refs.indices.sorted { refs[$0].arrival < refs[$1].arrival }
        // The references are the ground set and the records here, and do not change while they are
        // replayed: when the slots are in arrival order, reference i's similarities to the w before it
        // are the ones they computed to it (s(i, j) = s(j, i) bit for bit, as in `referenceGram`), so its
        // pass skips them: at R = 1000, 3/8 of the passes of a class's start.
        let symmetric = startReuseWindow > 0 && !c.refStore.disabled && order.elementsEqual(refs.indices)
        // Reference i keeps its similarities to the next w references (a ring of w rows of w floats:
        // 1 MB at most), which read them there instead of computing them again.
        let n = refs.count, w = symmetric ? min(n, startReuseWindow) : 0
        var ring = [Float](repeating: 0, count: w * w)
        var row: [Float] = []
        for (i, j) in order.enumerated() {
            let p = refs[j]
            var known: [Float]? = nil
            if symmetric {
                let lo = max(0, i - w)  // references lo..<i have kept their similarity to this one
                referenceSimilarities(p, c, from: i, into: &row)
                if lo > 0 { referenceSimilarities(p, c, from: 0, upTo: lo, into: &row) }
                row.withUnsafeMutableBufferPointer { rp in
                    ring.withUnsafeMutableBufferPointer { rg in
                        for a in lo..<i { rp[a] = rg[(a % w) * w + (i - a - 1)] }
                        // This row's slot replaces that of reference i − w, whose last entry was read above.
                        let slot = (i % w) * w
                        for k in 0..<min(w, n - i - 1) { rg[slot + k] = rp[i + 1 + k] }
                    }
                }
                known = row
            }
            process(p, in: c, ordinal: i + 1, weight: p.record.weight * scaleFactor(arrival: p.arrival), replay: true, known: known)
        }
    }

    func level(atOrAbove v: Double) -> Int { grid.level(atOrAbove: v) }
    func level(atOrBelow v: Double) -> Int { grid.level(atOrBelow: v) }
    func threshold(_ level: Int) -> Double { grid.threshold(level) }

    /// Similarities of a point to the class's references.
    func referenceSimilarities(_ p: _Point, _ c: _ClassState) -> [Float] {
        var s: [Float] = []
        referenceSimilarities(p, c, into: &s)
        return s
    }

    /// Similarities of a point to the class's references, into a reused buffer (resized to R); with
    /// `from` and `upTo`, only to references from..<upTo (the other entries are left as they were).
    func referenceSimilarities(_ p: _Point, _ c: _ClassState, from: Int = 0, upTo: Int? = nil, into s: inout [Float]) {
        let total = c.refCount
        if s.count != total { s = [Float](repeating: 0, count: total) }
        let n = min(upTo ?? total, total)
        guard n > from else { return }
        let k = kernel
        if c.refStore.disabled {
            c.refPoints.withUnsafeBufferPointer { refs in
                s.withUnsafeMutableBufferPointer { out in
                    for r in from..<n { out[r] = k.similarity(p, refs[r]) }
                }
            }
            return
        }
        c.refStore.dots(p.record.features, count: n, from: from, into: &c.dotScratch)
        c.refNorms.withUnsafeBufferPointer { norms in
            c.dotScratch.withUnsafeBufferPointer { dots in
                s.withUnsafeMutableBufferPointer { out in
                    if p.residual.isEmpty {
                        // Feature space: only the norms and the bulk dot products are read.
                        let kind = k.kind, an = p.gradientNorm2
                        if case .euclidean(let d) = kind {
                            _Kernel.euclideanSimilarities(scale: d, an, norms, dots, into: out, from..<n)
                        } else {
                            for r in from..<n { out[r] = _Kernel.similarity(kind, an, norms[r], inner: Double(dots[r])) }
                        }
                    } else if c.residualsFlat && p.residual.count == c.residualStride && c.refResiduals.count >= n * c.residualStride {
                        // Gradient space: the bulk x·x dots combined with the K-dimensional residual
                        // products, read from the flat buffer (same sums, same order as `k.similarity`).
                        let kind = k.kind, an = p.gradientNorm2, bias = k.bias, K = c.residualStride
                        p.residual.withUnsafeBufferPointer { pr in
                            c.refResiduals.withUnsafeBufferPointer { rr in
                                if K == 1 {
                                    let a0 = Double(pr[0])
                                    for r in from..<n {
                                        var rd = 0.0
                                        rd += a0 * Double(rr[r])
                                        out[r] = _Kernel.similarity(kind, an, norms[r], inner: rd * (Double(dots[r]) + bias))
                                    }
                                } else {
                                    for r in from..<n {
                                        var rd = 0.0
                                        let base = r * K
                                        for i in 0..<K { rd += Double(pr[i]) * Double(rr[base + i]) }
                                        out[r] = _Kernel.similarity(kind, an, norms[r], inner: rd * (Double(dots[r]) + bias))
                                    }
                                }
                            }
                        }
                    } else {
                        c.refPoints.withUnsafeBufferPointer { refs in
                            for r in from..<n { out[r] = k.similarity(p, refs[r], featureDot: Double(dots[r])) }
                        }
                    }
                }
            }
        }
    }

    /// Similarities of a point to the stored elements, by slot (-1 for free slots).
    func poolSimilarities(_ p: _Point, _ c: _ClassState) -> [Float] {
        var s: [Float] = []
        poolSimilarities(p, c, into: &s)
        return s
    }

    /// Similarities of a point to the stored elements, into a reused buffer (resized to the slot count).
    func poolSimilarities(_ p: _Point, _ c: _ClassState, into s: inout [Float]) {
        let n = c.pool.count
        if s.count != n { s = [Float](repeating: -1, count: n) }
        guard n > 0 else { return }
        let k = kernel
        if c.poolStore.disabled {
            c.pool.withUnsafeBufferPointer { pool in
                s.withUnsafeMutableBufferPointer { out in
                    for i in 0..<n { out[i] = pool[i] == nil ? -1 : k.similarity(p, pool[i]!.point) }
                }
            }
            return
        }
        c.poolStore.dots(p.record.features, count: n, into: &c.dotScratch)
        c.pool.withUnsafeBufferPointer { pool in
            c.dotScratch.withUnsafeBufferPointer { dots in
                s.withUnsafeMutableBufferPointer { out in
                    if p.residual.isEmpty {
                        let kind = k.kind, an = p.gradientNorm2
                        for i in 0..<n {
                            if let bn = pool[i]?.point.gradientNorm2 {
                                out[i] = _Kernel.similarity(kind, an, bn, inner: Double(dots[i]))
                            } else {
                                out[i] = -1
                            }
                        }
                    } else if c.residualsFlat && p.residual.count == c.residualStride && c.poolResiduals.count >= n * c.residualStride {
                        let kind = k.kind, an = p.gradientNorm2, bias = k.bias, K = c.residualStride
                        p.residual.withUnsafeBufferPointer { pr in
                            c.poolResiduals.withUnsafeBufferPointer { rr in
                                for i in 0..<n {
                                    guard let bn = pool[i]?.point.gradientNorm2 else { out[i] = -1; continue }
                                    var rd = 0.0
                                    let base = i * K
                                    for t in 0..<K { rd += Double(pr[t]) * Double(rr[base + t]) }
                                    out[i] = _Kernel.similarity(kind, an, bn, inner: rd * (Double(dots[i]) + bias))
                                }
                            }
                        }
                    } else {
                        for i in 0..<n { out[i] = pool[i] == nil ? -1 : k.similarity(p, pool[i]!.point, featureDot: Double(dots[i])) }
                    }
                }
            }
        }
    }

    /// One record through the sieves, the weight assignment and the reservoir.
    /// - Parameter replay: the record is already a reference (class start), so skip the reservoir.
    /// - Parameter known: the point's similarities to the references, when the caller has them.
    /// - Parameter reservoirDraw: the reservoir's draw for this record, when the caller made it.
    func process(_ p: _Point, in c: _ClassState, ordinal: Int, weight: Double, replay: Bool, known: [Float]? = nil,
                 reservoirDraw: Int? = nil) {
        // The class's scratch buffers are taken out for the record (a nested use allocates its own).
        var sims: [Float] = [], poolSims: [Float] = []
        swap(&sims, &c.simScratch)
        swap(&poolSims, &c.poolSimScratch)
        defer {
            swap(&sims, &c.simScratch)
            swap(&poolSims, &c.poolSimScratch)
        }
        if let known { sims = known } else { referenceSimilarities(p, c, into: &sims) }
        // Similarities to the stored elements: for the weight assignment and the reservoir upkeep.
        poolSimilarities(p, c, into: &poolSims)

        var singleton = 0.0
        sims.withUnsafeBufferPointer { for v in $0 { singleton += Double(v) } }
        if configuration.window != nil {
            // m and LB over the window: m is the largest singleton value of the live blocks, LB the best
            // sieve now (values fall when members expire).
            let b = block(p.arrival)
            c.blockMax[b] = max(c.blockMax[b] ?? 0, singleton)
            c.m = c.blockMax.values.max() ?? singleton
            c.lowerBound = c.sieves.reduce(0) { max($0, $1.value) }
        } else {
            c.m = max(c.m, singleton)
        }
        maintainSieves(c)

        let slot = offerToSieves(p, sims: sims, in: c, ordinal: ordinal, singleton: singleton)

        // Weight: to itself if stored, else to the most similar stored element.
        if let s = slot {
            addWeight(weight, arrival: p.arrival, to: &c.pool[s]!.weight, in: c)
        } else if let s = argmax(poolSims, c) {
            addWeight(weight, arrival: p.arrival, to: &c.pool[s]!.weight, in: c)
        } else {
            addWeight(weight, arrival: p.arrival, to: &c.pending, in: c)
        }

        guard !replay else { return }
        if configuration.window != nil {
            windowAdmit(p, in: c, selfSlot: slot, poolSims: poolSims)
            return
        }
        if configuration.halfLife != nil {
            halfLifeAdmit(p, in: c, selfSlot: slot, poolSims: poolSims)
            return
        }
        let n = UInt64(ordinal)  // the class's record count with this one (its `seen` when it arrived)
        reservoirUpkeep(p, in: c, draw: reservoirDraw ?? Int(c.rng.below(n)), selfSlot: slot, poolSims: poolSims)
    }

    /// Algorithm R's step for a record given its draw j: appended while the reservoir is below its
    /// target, else it replaces slot j when j falls inside; every sieve's coverage of the slot follows.
    func reservoirUpkeep(_ p: _Point, in c: _ClassState, draw j: Int, selfSlot: Int?, poolSims: [Float]) {
        if c.refCount < referenceTarget(c) {
            c.appendReference(p)
            appendCovers(p, in: c, selfSlot: selfSlot, poolSims: poolSims)
        } else if j < c.refCount {
            c.replaceReference(j, with: p)
            setCovers(j, p, in: c, selfSlot: selfSlot, poolSims: poolSims)
        }
    }

    /// Best member of a sieve for a reference point, given the point's similarities to the pool
    /// (`selfSlot`: the point's own slot, whose entry in `poolSims` may predate its insertion;
    /// `selfSim`: the kernel's `selfSimilarity`).
    @inline(__always)
    func coverEntry(_ s: _Sieve, selfSlot: Int?, selfSim: Float, poolSims: UnsafeBufferPointer<Float>) -> (Float, Int32) {
        var best: Float = 0, own: Int32 = -1
        let me = selfSlot ?? -1
        s.members.withUnsafeBufferPointer { members in
            for m in members {
                let v = m == me ? selfSim : poolSims[m]
                if v > best || own < 0 { best = max(best, v); own = Int32(m) }
            }
        }
        return (best, own)
    }

    /// A reference was appended: extend every sieve's coverage.
    func appendCovers(_ p: _Point, in c: _ClassState, selfSlot: Int?, poolSims: [Float]) {
        let selfSim = kernel.selfSimilarity
        c.withSieves { sieves, bands in
            poolSims.withUnsafeBufferPointer { ps in
                for i in sieves.indices {
                    let (best, own) = coverEntry(sieves[i], selfSlot: selfSlot, selfSim: selfSim, poolSims: ps)
                    sieves[i].cover.append(best)
                    sieves[i].owner.append(own)
                    sieves[i].value += Double(best)
                }
            }
            if bands.valid, let j = sieves.first.map({ $0.cover.count - 1 }) { bands.coverChanged(at: j, appended: true, sieves) }
        }
    }

    /// Reference slot j now holds p: recompute every sieve's coverage of it.
    func setCovers(_ j: Int, _ p: _Point, in c: _ClassState, selfSlot: Int?, poolSims: [Float]) {
        let selfSim = kernel.selfSimilarity
        c.withSieves { sieves, bands in
            poolSims.withUnsafeBufferPointer { ps in
                for i in sieves.indices {
                    let (best, own) = coverEntry(sieves[i], selfSlot: selfSlot, selfSim: selfSim, poolSims: ps)
                    sieves[i].value += Double(best) - Double(sieves[i].cover[j])
                    sieves[i].cover[j] = best
                    sieves[i].owner[j] = own
                }
            }
            if bands.valid { bands.coverChanged(at: j, appended: false, sieves) }
        }
    }

    /// Adds input weight (of the record that arrived at `arrival`) to an element or the pending weight.
    @inline(__always)
    func addWeight(_ w: Double, arrival: UInt64, to target: inout _Weight, in c: _ClassState) {
        guard configuration.window != nil else { target.plain += w; return }
        let b = block(arrival)
        target.prune(oldest: oldestLiveBlock)
        target.add(c.ledger.stored(w, block: b), block: b)
    }

    func argmax(_ poolSims: [Float], _ c: _ClassState) -> Int? {
        var best = -1, bestSim: Float = -1
        c.pool.withUnsafeBufferPointer { pool in
            poolSims.withUnsafeBufferPointer { ps in
                for s in 0..<min(ps.count, pool.count) where ps[s] > bestSim && pool[s] != nil {
                    best = s
                    bestSim = ps[s]
                }
            }
        }
        return best >= 0 ? best : nil
    }

    /// Instantiates and drops sieves so their thresholds cover the algorithm's range.
    func maintainSieves(_ c: _ClassState) {
        // A class without budget, or a state whose values are not finite (only a damaged checkpoint can
        // hold one; found by fuzzing), has no threshold range: keep its sieves as they are.
        guard let rule = sieveRule, c.m > 0, c.m.isFinite, c.capacity > 0, c.lowerBound.isFinite else { return }
        var (lo, hi) = rule.levels(m: c.m, lowerBound: c.lowerBound, budget: Double(c.capacity), grid: grid)
        if rule.maintains(c, levels: (lo, hi)) { return }
        if hi < lo { hi = lo }
        // Nothing to do (the common case): the sieves are exactly the levels hi, hi - 1, ..., lo.
        if c.sieves.count == hi - lo + 1 {
            var expected = hi, exact = true
            for s in c.sieves {
                if s.level != expected { exact = false; break }
                expected -= 1
            }
            if exact { return }
        }
        // Drop sieves out of range (their elements may leave the store).
        var kept: [_Sieve] = []
        for s in c.sieves {
            if s.level >= lo && s.level <= hi { kept.append(s) } else { release(s, in: c) }
        }
        // Add the missing levels, empty, keeping the list sorted by level (descending).
        let present = Set(kept.map(\.level))
        if present.count < hi - lo + 1 {
            for l in lo...hi where !present.contains(l) {
                kept.append(_Sieve(level: l, referenceCount: c.refCount))
            }
            kept.sort { $0.level > $1.level }
        }
        c.sieves = kept
    }

    /// Removes a sieve's hold on its members; elements nobody holds leave, passing their weight on.
    func release(_ s: _Sieve, in c: _ClassState) {
        for m in s.members {
            c.pool[m]!.holders -= 1
            if c.pool[m]!.holders == 0 { evict(m, in: c) }
        }
    }

    /// An element leaves the store: its weight moves to the most similar remaining element.
    func evict(_ slot: Int, in c: _ClassState) {
        let e = c.remove(slot)
        var best = -1, bestSim: Float = -1
        let k = kernel
        c.pool.withUnsafeBufferPointer { pool in
            for s in 0..<pool.count where pool[s] != nil {
                let v = k.similarity(e.point, pool[s]!.point)
                if v > bestSim { best = s; bestSim = v }
            }
        }
        if best >= 0 { c.pool[best]!.weight.absorb(e.weight) } else { c.pending.absorb(e.weight) }
    }

    /// Offers a record to every sieve of its class by the algorithm's rule.
    /// - Returns: its pool slot if at least one sieve accepted it.
    /// - Parameter singleton: Σ sims summed in order in Double (f({e})), if the caller has it: no
    ///   sieve's gain can exceed it (each term max(0, s_r − cover_r) <= s_r and rounding is monotone),
    ///   so a sieve whose bar is above it is rejected without a pass over its cover.
    func offerToSieves(_ p: _Point, sims: [Float], in c: _ClassState, ordinal: Int, singleton: Double = .infinity) -> Int? {
        guard let rule = sieveRule else { return nil }
        return offerToSieves(p, sims: sims, in: c, ordinal: ordinal, singleton: singleton, rule: rule)
    }

    /// `offerToSieves` specialised for one rule (the loop is the hot path of the sieves).
    func offerToSieves<Rule: _SieveRule>(_ p: _Point, sims: [Float], in c: _ClassState, ordinal: Int, singleton: Double,
                                         rule: Rule) -> Int? {
        var slot: Int? = nil
        let cap = c.capacity
        // Bands pay where several sieves are tested per record (not ThreeSieves' one; with a window,
        // expiries change covers too often to keep their minima).
        let banded = usesSieveBands && rule.testsSeveralSieves && configuration.window == nil
        var bandRejections = 0
        c.withSieves { sieves, bands in
            if banded && !bands.valid && sieves.count > 1 { bands.rebuild(sieves) }
            let useBands = banded && bands.valid
            sims.withUnsafeBufferPointer { row in
                var band = -1, bandEnd = 0
                // The band's bound on the gain in any of its sieves (+∞: not computed, rejects nothing).
                var bandUpper = Double.infinity
                for i in sieves.indices {
                    if useBands && i == bandEnd {
                        band += 1
                        bandEnd = bands.members(band).upperBound
                        bandUpper = .infinity
                        // One pass over the band's minimum when at least two of its sieves need a pass.
                        var needing = 0
                        for j in bands.members(band) where sieves[j].members.count < cap {
                            if sieveBar(&sieves[j], cap: cap, rule: rule) <= singleton { needing += 1 }
                        }
                        if needing >= 2 {
                            bandUpper = bands.minimum(band, sieves).withUnsafeBufferPointer { _Greedy.gainUpperBound(row, $0) }
                        }
                    }
                    let size = sieves[i].members.count
                    if size >= cap { continue }
                    let v = sieveThreshold(&sieves[i])
                    let f = sieves[i].value
                    // Both rules need g >= bar (and g > 0); a gain bounded below bar is rejected without
                    // the exact sum, which gives the same decision: by f({e}) (`singleton`), by the band's
                    // minimum cover (at least this sieve's gain bound) or by this sieve's `gainUpperBound`.
                    let bar = sieveBar(&sieves[i], cap: cap, rule: rule)
                    var accept: Bool
                    var g = 0.0
                    var reject = bar > singleton
                    if !reject && (bandUpper == 0 || bandUpper < bar) {
                        reject = true
                        bandRejections += 1
                    }
                    if !reject {
                        let upper = sieves[i].cover.withUnsafeBufferPointer { _Greedy.gainUpperBound(row, $0) }
                        reject = upper == 0 || upper < bar
                    }
                    if reject {
                        accept = false
                    } else {
                        g = sieves[i].cover.withUnsafeBufferPointer { _Greedy.gain(row, $0) }
                        accept = rule.accepts(gain: g, bar: bar, threshold: v, value: f, size: size, lowerBound: c.lowerBound) && g > 0
                    }
                    rule.decided(accept, sieve: &sieves[i], in: c, ordinal: ordinal, cap: cap, grid: grid)
                    guard accept else { continue }
                    let s = slot ?? c.insert(p)
                    slot = s
                    c.pool[s]!.holders += 1
                    sieves[i].members.append(s)
                    sieves[i].absorb(row, slot: s)
                    sieves[i].value = f + g
                    c.lowerBound = max(c.lowerBound, f + g)
                    if useBands { bands.markStale(band: band) }
                }
            }
            // ThreeSieves moves its sieve's level in place: its bands (unused) stay invalid.
            if !useBands { bands.valid = false }
        }
        if bandRejections > 0 { c.bandRejections += bandRejections }
        return slot
    }

    /// Sieve s's threshold (1 + ε)^level, cached in the sieve (an exp per sieve per record otherwise).
    @inline(__always)
    func sieveThreshold(_ s: inout _Sieve) -> Double {
        if s.thresholdLevel != s.level {
            s.thresholdLevel = s.level
            s.thresholdValue = threshold(s.level)
        }
        return s.thresholdValue
    }

    /// The gain sieve s requires of a record, by the rule.
    @inline(__always)
    func sieveBar<Rule: _SieveRule>(_ s: inout _Sieve, cap: Int, rule: Rule) -> Double {
        rule.bar(threshold: sieveThreshold(&s), value: s.value, size: s.members.count, cap: cap)
    }
}

@inline(__always) func Foundation_log(_ x: Double) -> Double { log(x) }
@inline(__always) func Foundation_exp(_ x: Double) -> Double { exp(x) }
@inline(__always) func Foundation_exp2(_ x: Double) -> Double { exp2(x) }
