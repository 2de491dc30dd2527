/// Drift: `SelectorConfiguration.window` — the coreset represents the last N records of the stream.
///
/// When record t arrives, record t − N leaves the window (before t is processed), and with it:
/// - **its weight**: the exact input weight of the leaving record (kept in a ring of N (class, weight)
///   pairs, 12 bytes per record, no features) leaves its class. Elements hold their weight tagged by
///   the arrival block it came from (`_Weight`, blocks of N/16 arrivals); the class's `_Ledger` scales
///   every amount of that block by (live − w)/live, and a block whose last record left is worth 0.
///   So per class, coreset total weight == input weight of the class's records among the last N,
///   and an element whose records all left stands for nothing, wherever its weight moved;
/// - **the element**: if the record is stored, it leaves every sieve (only the references it covered
///   are re-covered, via `_Sieve.owner`) and the store, passing its (in-window) weight to the most
///   similar remaining element, as any eviction does;
/// - **the reference**: the reference set is a priority sample of the class's records in the window
///   (the R of lowest seeded priority; Babcock, Datar, Motwani, SODA 2002), kept with its candidates
///   (`_Candidate`); a sampled record that leaves is replaced by the next candidate.
/// The sieves' m (largest singleton) and Sieve-Streaming++'s LB are taken over the window (m per block,
/// LB = best sieve now), so thresholds follow the recent part of the stream. Budgets and class shares
/// use the classes' counts in the window.
extension CoresetSelector {
    @inline(__always) func block(_ arrival: UInt64) -> Int { Int(arrival) / blockSize }

    /// The oldest block with a record in the window.
    var oldestLiveBlock: Int {
        guard let n = configuration.window else { return 0 }
        return block(arrivals > UInt64(n) ? arrivals - UInt64(n) : 0)
    }

    /// Seeded priority of a record (order-free: depends on the seed and arrival only).
    func priority(_ arrival: UInt64) -> UInt64 {
        var g = SeededGenerator(seed: configuration.seed ^ (arrival &* 0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D)
        return g.next()
    }

    /// Record `a` leaves the window.
    func expire(arrival a: UInt64) {
        guard let n = configuration.window else { return }
        let idx = Int(a % UInt64(n))
        let cid = Int(windowClass[idx]), w = windowWeight[idx]
        if let c = classes[cid] {
            c.inWindow -= 1
            c.inputWeight -= w
            if c.inWindow == 0 { c.inputWeight = 0 }  // no rounding residue in an empty class
            if configuration.algorithm == .greedy {
                if c.allHead < c.all.count, c.all[c.allHead].arrival == a { c.allHead += 1 }
                if c.allHead >= 1024 && c.allHead * 2 >= c.all.count { c.compactAll() }
            } else {
                if c.started { c.ledger.expire(w, block: block(a)) }
                if let s = c.slotOfArrival[a] { expireElement(s, in: c) }
                expireCandidates(upTo: a, in: c)
            }
        }
        // Last record of its block: the block is worth nothing any more, in every class.
        if (Int(a) + 1) % blockSize == 0 {
            let b = block(a)
            for case let c? in classes {
                c.ledger.drop(block: b)
                c.blockMax[b] = nil
            }
        }
    }

    /// A stored element leaves every sieve and the store.
    func expireElement(_ slot: Int, in c: _ClassState) {
        // The references the element covered are re-covered in every sieve that held it; sieves share
        // references and members, so each (reference, member) similarity is computed once per expiry
        // (the same `similarity(_:at:)` values, read in place), not once per sieve.
        let k = kernel
        var rows: [Int: [Float]] = [:]
        func similarity(_ r: Int, _ m: Int) -> Float {
            if let v = rows[r]?[m], !v.isNaN { return v }
            let v = c.refPoints.withUnsafeBufferPointer { refs in
                c.pool.withUnsafeBufferPointer { pool in
                    withUnsafePointer(to: pool[m]!.point) { k.similarity(refs[r], at: $0) }
                }
            }
            if rows[r] == nil { rows[r] = [Float](repeating: .nan, count: c.pool.count) }
            rows[r]![m] = v
            return v
        }
        for i in c.sieves.indices {
            guard let k = c.sieves[i].members.firstIndex(of: slot) else { continue }
            c.sieves[i].members.remove(at: k)
            var value = 0.0
            for r in 0..<c.sieves[i].cover.count {
                if c.sieves[i].owner[r] == Int32(slot) {
                    var best: Float = 0, own: Int32 = -1
                    for m in c.sieves[i].members {
                        let v = similarity(r, m)
                        if v > best || own < 0 { best = max(best, v); own = Int32(m) }
                    }
                    c.sieves[i].cover[r] = best
                    c.sieves[i].owner[r] = own
                }
                value += Double(c.sieves[i].cover[r])
            }
            c.sieves[i].value = value
            c.pool[slot]!.holders -= 1
        }
        c.pool[slot]!.holders = 0
        evict(slot, in: c)
    }

    /// Candidates (and references) with arrival <= a leave; a sampled one is replaced by the
    /// lowest-priority remaining candidate, or its slot removed.
    func expireCandidates(upTo a: UInt64, in c: _ClassState) {
        while let f = c.candidates.first, f.point.arrival <= a {
            c.candidates.removeFirst()
            guard f.inSample, let j = c.refPoints.firstIndex(where: { $0.arrival == f.point.arrival }) else { continue }
            var best = -1
            for i in c.candidates.indices where !c.candidates[i].inSample {
                if best < 0 || c.candidates[i].priority < c.candidates[best].priority { best = i }
            }
            if best >= 0 {
                c.candidates[best].inSample = true
                let q = c.candidates[best].point
                c.replaceReference(j, with: q)
                c.refPriority[j] = c.candidates[best].priority
                if c.started {
                    let ps = poolSimilarities(q, c)
                    setCovers(j, q, in: c, selfSlot: c.slotOfArrival[q.arrival], poolSims: ps)
                }
            } else {
                if c.started {
                    let last = c.refCount - 1
                    for i in c.sieves.indices {
                        c.sieves[i].value -= Double(c.sieves[i].cover[j])
                        c.sieves[i].cover[j] = c.sieves[i].cover[last]
                        c.sieves[i].owner[j] = c.sieves[i].owner[last]
                        c.sieves[i].cover.removeLast()
                        c.sieves[i].owner.removeLast()
                    }
                }
                c.removeReference(j)
            }
        }
    }

    /// A new record of the class enters the candidate list and, if its priority is among the R
    /// lowest of the window, the reference sample.
    /// - Parameters: selfSlot/poolSims: the record's pool slot and similarities to the pool (started classes).
    func windowAdmit(_ p: _Point, in c: _ClassState, selfSlot: Int?, poolSims: [Float]) {
        let u = priority(p.arrival)
        let target = referenceTarget(c)
        let r = Int32(clamping: target)
        // Candidates with R later records of lower priority can never be sampled again. Updated and
        // compacted in place through the buffer: copying a `_Candidate` out and back retains and
        // releases its point's arrays, which was half of window mode's time.
        let kept = c.candidates.withUnsafeMutableBufferPointer { buf -> Int in
            var w = 0
            for i in 0..<buf.count {
                if buf[i].priority > u { buf[i].dominated += 1 }
                if buf[i].dominated >= r && !buf[i].inSample { continue }
                if w != i { buf.swapAt(w, i) }
                w += 1
            }
            return w
        }
        c.candidates.removeLast(c.candidates.count - kept)
        var cand = _Candidate(point: p, priority: u)
        if c.refCount < target {
            cand.inSample = true
            c.appendReference(p)
            c.refPriority.append(u)
            if c.started { appendCovers(p, in: c, selfSlot: selfSlot, poolSims: poolSims) }
        } else {
            var j = 0
            for i in c.refPriority.indices where c.refPriority[i] > c.refPriority[j] { j = i }
            if u < c.refPriority[j] {
                let out = c.refPoints[j].arrival
                if let k = c.candidates.firstIndex(where: { $0.point.arrival == out }) { c.candidates[k].inSample = false }
                cand.inSample = true
                c.replaceReference(j, with: p)
                c.refPriority[j] = u
                if c.started { setCovers(j, p, in: c, selfSlot: selfSlot, poolSims: poolSims) }
            }
        }
        c.candidates.append(cand)
    }

    /// Window mode: candidates for the reference samples, summed over classes.
    var windowCandidateCount: Int { classes.reduce(0) { $0 + ($1?.candidates.count ?? 0) } }
}

/// Drift with `SelectorConfiguration.halfLife` h: the objective is the decayed facility location
/// F_t(S) = Σ_i 2^(−(t − t_i)/h) max_{j ∈ S} s(i, j), so the ground set the gains are measured on must be a
/// sample of the class's records weighted by 2^(t_i/h): a weighted reservoir without replacement
/// (Efraimidis and Spirakis' A-ES: keep the R largest u^(1/w), i.e. the R smallest ln(−ln u) − t_i ln 2 / h,
/// with u a seeded draw per arrival). Recent records push old references out at the rate the decay asks
/// for, and every replaced reference is re-covered as in the uniform reservoir. The read-out then picks
/// by lazy greedy over everything stored and the references, measured on these references
/// (`fromSieves`), so elements chosen before a change of distribution give way to recent ones; weights
/// decay as before, and class budgets follow the decayed class weights.
extension CoresetSelector {
    /// The A-ES key of an arrival, as an order-preserving UInt64 (smaller is kept).
    func halfLifePriority(_ arrival: UInt64) -> UInt64 {
        guard let h = configuration.halfLife else { return 0 }
        let u = (Double(priority(arrival) >> 11) + 0.5) / 9_007_199_254_740_992  // (0, 1)
        let key = Foundation_log(-Foundation_log(u)) - Double(arrival) * 0.693_147_180_559_945_3 / h
        let bits = key.bitPattern
        return bits >> 63 == 1 ? ~bits : bits | (1 << 63)
    }

    /// A new record of a started class enters the time-biased reference sample if its key is among
    /// the R smallest so far.
    func halfLifeAdmit(_ p: _Point, in c: _ClassState, selfSlot: Int?, poolSims: [Float]) {
        let key = halfLifePriority(p.arrival)
        if c.refCount < referenceTarget(c) {
            c.appendReference(p)
            c.refPriority.append(key)
            appendCovers(p, in: c, selfSlot: selfSlot, poolSims: poolSims)
            return
        }
        var j = 0
        for i in c.refPriority.indices where c.refPriority[i] > c.refPriority[j] { j = i }
        guard key < c.refPriority[j] else { return }
        c.replaceReference(j, with: p)
        c.refPriority[j] = key
        setCovers(j, p, in: c, selfSlot: selfSlot, poolSims: poolSims)
    }
}
