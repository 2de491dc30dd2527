/// Checkpoints: the selector's whole state as bytes, and a selector rebuilt from them.
///
/// Everything the next record's processing reads is saved, so a restored selector given the rest
/// of the stream ends with the same coreset, byte for byte, as one that never stopped: the scale
/// (or the warm-up records still waiting for it), the model snapshot distances are measured at,
/// per class the reservoir with its RNG state, the stored elements with their weights and holders,
/// every sieve (level, members, coverage, owners, value), m and LB, capacities, ThreeSieves'
/// rejection count, the decay origin, and in window mode the ring of (class, weight), the ledgers,
/// block maxima and reference candidates. The feature matrices (`_ColumnStore`) are rebuilt from the
/// stored points with their saved shape; the flat residual buffers are saved as they are.
extension CoresetSelector {
    /// Tag of the selector section of a state file; bumped whenever the layout below changes.
    /// 3 added the classes' gradient sums (`Weighting.gradientMatch`); layout 2 is still read (its
    /// classes start without a sum, so they keep nearest weights until the next re-selection).
    static let stateLayoutVersion = 3

    /// The selector's state (see the extension's documentation).
    /// - Throws: `CoresetError.usage` if the geometry uses a snapshot that is not a
    ///   `_SavableGradientEmbedding` (Learning's `LinearModelSnapshot` is).
    /// - Complexity: O(size of the state): references, stored elements, sieve coverage.
    public func encodedState() throws(CoresetError) -> [UInt8] { try encodedState(layout: Self.stateLayoutVersion) }

    /// `encodedState()` in an older layout (2: without the gradient sums), for the compatibility tests.
    func encodedState(layout: Int) throws(CoresetError) -> [UInt8] {
        settle()
        var w = _StateWriter()
        w.int(layout)
        w.string(Self.fingerprint(configuration, task))
        if !shardSelectors.isEmpty {
            try encodedShardState(into: &w, layout: layout)
            return w.bytes
        }
        w.u64(arrivals)
        w.u64(decayOrigin)
        w.int(latestVersion)
        w.int(reselectionCount)
        w.u64(lastReselectionArrival)
        w.bool(scaleFixed)
        w.array(warmUpBuffer) { $0.record($1) }
        switch kernel.kind {
        case .euclidean(let d): w.int(0); w.double(d)
        case .cosine: w.int(1); w.double(0)
        case .rbf(let g): w.int(2); w.double(g)
        case .saturatedCosine(let t): w.int(3); w.double(t)
        }
        if let e = kernel.embedding {
            guard let s = e as? any _SavableGradientEmbedding else {
                throw .usage("cannot checkpoint a selector measuring gradients of a \(type(of: e))")
            }
            w.bool(true)
            s.encode(into: &w)
        } else {
            w.bool(false)
        }
        w.array(windowClass) { $0.int(Int($1)) }
        w.doubles(windowWeight)
        w.array(classes) { w, c in w.optional(c) { $0.classState($1, layout: layout) } }
        return w.bytes
    }

    /// A selector continuing from `encodedState()` bytes.
    /// - Throws: `CoresetError.badFile` (named `source`) if the bytes are not a selector state of this
    ///   layout, or were written with another configuration or task (the message says which).
    ///   A saved model snapshot is decoded as `embeddingType` (the Pipeline passes Learning's snapshot type:
    ///   `init(restoring:configuration:task:source:)` in Pipeline/CoresetSelector+Restoring.swift).
    convenience init(restoring bytes: [UInt8], configuration: SelectorConfiguration, task: TaskKind,
                     source: String, embeddingType: any _SavableGradientEmbedding.Type) throws(CoresetError) {
        self.init(configuration: configuration, task: task)
        var r = _StateReader(bytes)
        do {
            let layout = try r.int()
            guard layout == Self.stateLayoutVersion || layout == 2 else {
                throw CoresetError.badFile(path: source, message: "selector state layout \(layout) is not the one this build reads (\(Self.stateLayoutVersion))")
            }
            let saved = try r.string()
            let now = Self.fingerprint(configuration, task)
            guard saved == now else {
                throw CoresetError.badFile(path: source, message: "the state was written with other selection options (saved: \(saved); now: \(now))")
            }
            if !shardSelectors.isEmpty {
                try decodeShardState(&r, source: source, embeddingType: embeddingType)
                guard r.atEnd else { throw _StateReader.Corrupt(offset: r.offset, reason: "trailing bytes") }
                return
            }
            arrivals = try r.arrival()
            decayOrigin = try r.u64()
            latestVersion = try r.int()
            reselectionCount = try r.int()
            lastReselectionArrival = try r.u64()
            scaleFixed = try r.bool()
            warmUpBuffer = try r.array { try $0.record() }
            let kind = try r.int(), scale = try r.double()
            let embedding: (any GradientEmbedding)? = try r.bool() ? try embeddingType.init(decoding: &r) : nil
            switch kind {
            case 0: kernel = _Kernel(kind: .euclidean(scale: scale), embedding: embedding)
            case 1: kernel = _Kernel(kind: .cosine, embedding: embedding)
            case 2: kernel = _Kernel(kind: .rbf(gamma: scale), embedding: embedding)
            case 3: kernel = _Kernel(kind: .saturatedCosine(threshold: scale), embedding: embedding)
            default: throw _StateReader.Corrupt(offset: r.offset, reason: "unknown kernel \(kind)")
            }
            windowClass = try r.array { Int32(truncatingIfNeeded: try $0.int()) }
            windowWeight = try r.doubles()
            classes = try r.array { r in try r.optional { try Self.decodeClassState(&$0, configuration, layout: layout) } }
            guard r.atEnd else { throw _StateReader.Corrupt(offset: r.offset, reason: "trailing bytes") }
            // The window ring holds the last min(arrivals, window) records, each of a class present
            // (the next arrival expires one of them); a state that says otherwise would trap there.
            let ring = configuration.window.map { UInt64($0) < arrivals ? $0 : Int(arrivals) } ?? 0
            guard windowClass.count == ring, windowWeight.count == ring,
                  windowClass.allSatisfy({ $0 >= 0 && Int($0) < classes.count }) else {
                throw _StateReader.Corrupt(offset: r.offset, reason: "window of \(windowClass.count) classes and \(windowWeight.count) weights after \(arrivals) records")
            }
            for (i, c) in classes.enumerated() where c != nil && c!.id != i {
                throw _StateReader.Corrupt(offset: r.offset, reason: "class \(c!.id) saved at position \(i)")
            }
        } catch let e as CoresetError {
            throw e
        } catch {
            throw .badFile(path: source, message: "corrupt selector state: \(error)")
        }
    }

    /// What must match for a saved state to be continued: every option and the task.
    static func fingerprint(_ c: SelectorConfiguration, _ task: TaskKind) -> String {
        "task=\(task.rawValue) k=\(c.k) algorithm=\(c.algorithm.rawValue) epsilon=\(c.epsilon) patience=\(c.threeSievesPatience) "
            + "similarity=\(c.similarity) space=\(c.space.rawValue) split=\(c.budgetSplit.rawValue) reference=\(c.referenceSize) "
            + "reference-factor=\(c.referenceFactor) "
            + "warmup=\(c.warmUp) window=\(c.window.map(String.init) ?? "none") half-life=\(c.halfLife.map { "\($0)" } ?? "none") "
            + "reselect=\(c.reselectionThreshold) spacing=\(c.reselectionSpacing) seed=\(c.seed)"
            + (c.shards > 1 ? " shards=\(c.shards)" : "")
            // Absent for the default, so states of builds before the option still match.
            + (c.weighting != .gradientMatch ? " weighting=\(c.weighting.rawValue)" : "")
            + (c.candidateFactor != SelectorConfiguration.defaultCandidateFactor ? " candidates=\(c.candidateFactor)" : "")
    }

    static func decodeClassState(_ r: inout _StateReader, _ configuration: SelectorConfiguration, layout: Int) throws -> _ClassState {
        let id = try r.int()
        guard id >= 0 && id <= LabelMap.maxClassId else { throw _StateReader.Corrupt(offset: r.offset, reason: "bad class id \(id)") }
        let c = _ClassState(id: id, seed: configuration.seed, referenceSize: configuration.referenceSize,
                            keepsReferenceFeatures: configuration.window != nil)
        c.seen = try r.int()
        c.inputWeight = try r.double()
        c.rng.state = try r.u64()
        let refs = try r.array { try $0.point() }
        c.started = try r.bool()
        c.pool = try r.array { r in
            try r.optional { r in
                _PoolElement(point: try r.point(), weight: try r.weight(), holders: try r.int())
            }
        }
        c.freeSlots = try r.ints()
        c.poolCount = try r.int()
        c.sieves = try r.array { r in
            var s = _Sieve(level: try r.int(), referenceCount: 0)
            s.members = try r.ints()
            s.cover = try r.floats()
            s.owner = try r.ints().map { Int32(truncatingIfNeeded: $0) }
            s.value = try r.double()
            s.thresholdLevel = try r.int()
            s.thresholdValue = try r.double()
            return s
        }
        c.m = try r.double()
        c.lowerBound = try r.double()
        c.pending = try r.weight()
        c.capacity = try r.int()
        c.maxCapacity = try r.int()
        c.rejections = try r.int()
        c.all = try r.array { try $0.point() }
        c.allHead = try r.int()
        c.inWindow = try r.int()
        c.ledger = _Ledger(fraction: try r.intDoubleMap(), live: try r.intDoubleMap())
        c.blockMax = try r.intDoubleMap()
        c.candidates = try r.array { r in
            _Candidate(point: try r.point(), priority: try r.u64(), dominated: Int32(truncatingIfNeeded: try r.int()), inSample: try r.bool())
        }
        c.refPriority = try r.array { try $0.u64() }
        let arrivals = try r.array { try $0.arrival() }, slots = try r.ints()
        guard arrivals.count == slots.count else { throw _StateReader.Corrupt(offset: r.offset, reason: "slot map lengths differ") }
        c.slotOfArrival = Dictionary(zip(arrivals, slots), uniquingKeysWith: { a, _ in a })
        guard c.slotOfArrival.count == arrivals.count else { throw _StateReader.Corrupt(offset: r.offset, reason: "an arrival stored twice in class \(id)") }
        // Consistency the hot path relies on (indices it dereferences without checks).
        let poolSize = c.pool.count, refCount = refs.count
        for s in c.sieves {
            guard s.cover.count == refCount, s.owner.count == refCount,
                  s.members.allSatisfy({ $0 >= 0 && $0 < poolSize && c.pool[$0] != nil })
            else { throw _StateReader.Corrupt(offset: r.offset, reason: "a sieve of class \(id) does not match its references or store") }
        }
        // Each sieve holding an element releases it once: fewer holders than holding sieves would
        // evict it while a sieve still points at it.
        var held = [Int](repeating: 0, count: poolSize)
        for s in c.sieves { for m in s.members { held[m] += 1 } }
        guard c.pool.indices.allSatisfy({ c.pool[$0] == nil || c.pool[$0]!.holders >= held[$0] })
        else { throw _StateReader.Corrupt(offset: r.offset, reason: "an element of class \(id) has fewer holders than sieves holding it") }
        // Sieve levels are logarithms of these: a NaN or infinite value would trap converting to Int.
        guard c.m.isFinite && c.m >= 0, c.lowerBound.isFinite, c.sieves.allSatisfy({ $0.value.isFinite && $0.thresholdValue.isFinite }),
              c.blockMax.values.allSatisfy({ $0.isFinite && $0 >= 0 })
        else { throw _StateReader.Corrupt(offset: r.offset, reason: "non-finite objective values in class \(id)") }
        guard c.seen >= 0, c.inWindow >= 0, c.rejections >= 0, c.capacity >= 0, c.maxCapacity >= 0,
              c.poolCount >= 0 && c.poolCount <= poolSize, c.allHead >= 0 && c.allHead <= c.all.count
        else { throw _StateReader.Corrupt(offset: r.offset, reason: "negative or out-of-range counts in class \(id)") }
        guard c.freeSlots.allSatisfy({ $0 >= 0 && $0 < poolSize && c.pool[$0] == nil }),
              c.slotOfArrival.values.allSatisfy({ $0 >= 0 && $0 < poolSize })
        else { throw _StateReader.Corrupt(offset: r.offset, reason: "bad store slots in class \(id)") }
        // A store grows from 16 columns by doubling to hold the slots in use, so a saved shape wider than
        // twice what the class can hold is damage (a damaged shape once asked for 1 GB here).
        let referenceRoom = max(16, refCount, configuration.referenceSize, configuration.referenceFactor * configuration.k,
                                configuration.window ?? 0)
        c.refStore = try r.columnStore(maxColumns: 2 * referenceRoom)
        c.poolStore = try r.columnStore(maxColumns: 2 * max(16, poolSize))
        c.refs = refs
        for s in c.pool.indices { if let e = c.pool[s] { c.poolStore.set(s, e.point.record.features, replacing: nil) } }
        c.residualStride = try r.int()
        c.residualsFlat = try r.bool()
        c.refResiduals = try r.floats()
        c.poolResiduals = try r.floats()
        if layout >= 3 { c.gradientSum = try _GradientSum(decoding: &r) }
        return c
    }
}

extension _StateWriter {
    mutating func point(_ p: _Point) {
        record(p.record)
        floats(p.residual)
        double(p.gradientNorm2)
        u64(p.arrival)
        double(p.featureNorm2)
    }

    mutating func weight(_ w: _Weight) {
        double(w.plain)
        ints(w.blocks)
        doubles(w.amounts)
    }

    /// A dictionary in key order, so equal states give equal bytes.
    mutating func intDoubleMap(_ m: [Int: Double]) {
        let keys = m.keys.sorted()
        ints(keys)
        doubles(keys.map { m[$0]! })
    }

    mutating func columnStore(_ s: _ColumnStore) {
        int(s.dimension)
        int(s.columns)
        bool(s.disabled)
    }

    mutating func classState(_ c: _ClassState, layout: Int) {
        int(c.id)
        int(c.seen)
        double(c.inputWeight)
        u64(c.rng.state)
        array(c.refs) { $0.point($1) }
        bool(c.started)
        array(c.pool) { w, e in
            w.optional(e) { w, e in
                w.point(e.point)
                w.weight(e.weight)
                w.int(e.holders)
            }
        }
        ints(c.freeSlots)
        int(c.poolCount)
        array(c.sieves) { w, s in
            w.int(s.level)
            w.ints(s.members)
            w.floats(s.cover)
            w.ints(s.owner.map(Int.init))
            w.double(s.value)
            w.int(s.thresholdLevel)
            w.double(s.thresholdValue)
        }
        double(c.m)
        double(c.lowerBound)
        weight(c.pending)
        int(c.capacity)
        int(c.maxCapacity)
        int(c.rejections)
        array(c.all) { $0.point($1) }
        int(c.allHead)
        int(c.inWindow)
        intDoubleMap(c.ledger.fraction)
        intDoubleMap(c.ledger.live)
        intDoubleMap(c.blockMax)
        array(c.candidates) { w, k in
            w.point(k.point)
            w.u64(k.priority)
            w.int(Int(k.dominated))
            w.bool(k.inSample)
        }
        array(c.refPriority) { $0.u64($1) }
        let arrivals = c.slotOfArrival.keys.sorted()
        array(arrivals) { $0.u64($1) }
        ints(arrivals.map { c.slotOfArrival[$0]! })
        columnStore(c.refStore)
        columnStore(c.poolStore)
        int(c.residualStride)
        bool(c.residualsFlat)
        floats(c.refResiduals)
        floats(c.poolResiduals)
        if layout >= 3 { c.gradientSum.encode(into: &self) }
    }
}

extension _StateReader {
    mutating func point() throws -> _Point {
        let record = try record()
        let residual = try floats(), gradientNorm2 = try double(), arrival = try self.arrival(), featureNorm2 = try double()
        return _Point(record: record, residual: residual, gradientNorm2: gradientNorm2, arrival: arrival, featureNorm2: featureNorm2)
    }

    /// An arrival number: a count of records, so far below 2^62 (window blocks convert it to Int).
    mutating func arrival() throws -> UInt64 {
        let a = try u64()
        guard a < 1 << 62 else { throw Corrupt(offset: offset, reason: "arrival \(a) out of range") }
        return a
    }

    mutating func weight() throws -> _Weight {
        let plain = try double(), blocks = try ints(), amounts = try doubles()
        guard blocks.count == amounts.count else { throw Corrupt(offset: offset, reason: "weight blocks and amounts differ in length") }
        return _Weight(plain: plain, blocks: blocks, amounts: amounts)
    }

    mutating func intDoubleMap() throws -> [Int: Double] {
        let keys = try ints(), values = try doubles()
        guard keys.count == values.count, Set(keys).count == keys.count else { throw Corrupt(offset: offset, reason: "bad map") }
        return Dictionary(uniqueKeysWithValues: zip(keys, values))
    }

    mutating func columnStore(maxColumns: Int = 1 << 24) throws -> _ColumnStore {
        let d = try int(), c = try int(), disabled = try bool()
        guard d >= 0, d <= _ColumnStore.maxDimension, c >= 1, c <= min(maxColumns, 1 << 24) else {
            throw Corrupt(offset: offset, reason: "bad feature matrix shape \(d) x \(c)")
        }
        return _ColumnStore(dimension: d, columns: c, disabled: disabled)
    }
}
