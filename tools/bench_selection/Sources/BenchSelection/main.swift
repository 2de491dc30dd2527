// Selection benchmarks (driven by tools/bench_selection/bench.py, which writes RESULTS.md).
//
//   BenchSelection stream FILE K ALGORITHM
//       End to end: reads the .zst with CoresetKit's RecordReader, streams every record through a
//       feature-space CoresetSelector, reads the coreset. Prints one JSON line: records/s, peak RSS.
//       One algorithm per process, so the peak RSS is that algorithm's (plus the reader's buffers).
//   BenchSelection eval FILE [APRICOT_DIR]
//       In memory, for k = 100 and 1000: (a) facility-location objective of every algorithm, of
//       uniform random subsets and of apricot's selection (if APRICOT_DIR holds its picks) on a fixed
//       10,000-record random sample, against lazy greedy with that sample as ground set and the
//       sample plus 30,000 more random records as candidates; (b) gradient error at a mid-training and a
//       near-optimal model (trained here with CoresetKit's Learner) of feature-space and gradient-space
//       coresets, relative to uniform random subsets (weights n/k, mean of 10 draws). Prints JSON.
//   BenchSelection window FILE K N
//       Drift (classes 0-4, then classes 5-9): windowed (N), half-life (N/2) and unwindowed selectors
//       against lazy greedy and uniform samples of the last N records, objective on that window. JSON.
import CoresetKit
#if canImport(Glibc)
import Glibc
#endif
// FoundationEssentials, as the engine and the `coreset` command use (full Foundation costs ~6 MB resident).
import FoundationEssentials

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func peakRSSMiB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

/// One JSON value (dictionaries with sorted keys, arrays, strings, numbers, booleans).
func json(_ v: Any) -> String {
    switch v {
    case let d as [String: Any]:
        return "{" + d.keys.sorted().map { json($0) + ":" + json(d[$0]!) }.joined(separator: ",") + "}"
    case let a as [Any]: return "[" + a.map(json).joined(separator: ",") + "]"
    case let b as Bool: return b ? "true" : "false"
    case let i as Int: return String(i)
    case let x as Double: return x.isFinite ? "\(x)" : "null"
    case let x as Float: return json(Double(x))
    case let s as String: return String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
    default: return json(String(describing: v))
    }
}

func readAll(_ path: String) -> (records: [Record], task: TaskKind) {
    let reader = RecordReader(inputs: [.file(path)])
    var out: [Record] = []
    while let b = try! reader.next() { out += b.records }
    return (out, reader.labels.task)
}

func taskOf(_ path: String) -> TaskKind { path.contains("mnist") ? .multiclass : .binary }

/// `CORESET_BENCH_ALGORITHMS` (comma-separated raw values) restricts them, e.g. to compare one algorithm's variants.
let algorithms: [SelectorConfiguration.Algorithm] = ProcessInfo.processInfo.environment["CORESET_BENCH_ALGORITHMS"].map {
    $0.split(separator: ",").compactMap { SelectorConfiguration.Algorithm(rawValue: String($0)) }
} ?? [.sieveStreaming, .sieveStreamingPlusPlus, .threeSieves]
let ks = [100, 1000]
/// A smaller reference reservoir at k = 100 (`--reference-size`), measured beside the defaults: the
/// selector's cost per record is proportional to it (the trade-off docs/performance.md shows).
let smallReference = (k: 100, size: 500)

// MARK: - stream

func stream(_ path: String, k: Int, alg: SelectorConfiguration.Algorithm, threads: Int, referenceSize: Int?) {
    let t0 = now()
    let reader = RecordReader(inputs: [.file(path)])
    let configuration = benchConfiguration(k: k, algorithm: alg, space: .feature, referenceSize: referenceSize)
    let selector = CoresetSelector(configuration: configuration, task: taskOf(path))
    selector.useThreads(threads)
    var n = 0
    while let b = try! reader.next() {
        selector.offer(b)
        n += b.count
    }
    selector.finish()
    let tFinished = now()
    let c = selector.coreset
    let t1 = now()
    print(json(["algorithm": alg.rawValue, "k": k, "threads": selector.threads, "reference_size": configuration.referenceSize, "records": n, "seconds": t1 - t0, "records_per_s": Double(n) / (t1 - t0),
                "stream_seconds": tFinished - t0, "readout_seconds": t1 - tFinished,
                "peak_rss_mib": peakRSSMiB(), "stored": selector.storedElementCount, "bound": selector.storedElementBound,
                "references": selector.referenceCount, "coreset": c.count]))
}

// MARK: - exact objective, fast enough for 10k x 40k

struct Dense {
    let dim: Int
    var buf: [Float]
    init(dim: Int) { self.dim = dim; buf = [Float](repeating: 0, count: dim) }
    mutating func load(_ x: FeatureVector) {
        for i in 0..<dim { buf[i] = 0 }
        for (i, v) in zip(x.indices, x.values) where Int(i) < dim { buf[Int(i)] = v }
    }
}

/// s(x, ground[g]) for every g, with s = max(0, D - |x - g|) (CRAIG, feature space).
func simRow(_ x: FeatureVector, _ xn: Float, _ ground: [Record], _ gn: [Float], _ d: Float, _ dense: inout Dense, into row: inout [Float]) {
    dense.load(x)
    dense.buf.withUnsafeBufferPointer { db in
        for g in 0..<ground.count {
            let f = ground[g].features
            let dot = f.indices.withUnsafeBufferPointer { ix in f.values.withUnsafeBufferPointer { vx in VectorMath.sparseDenseDot(ix, vx, db) } }
            row[g] = max(0, d - max(0, xn + gn[g] - 2 * dot).squareRoot())
        }
    }
}

func norm2(_ r: Record) -> Float { VectorMath.squaredNorm(r.features) }

/// Lazy greedy (rows recomputed, not cached): picks of `cands` maximising Σ_g max_j s(g, j) over `ground`.
func lazyGreedy(cands: [Record], ground: [Record], budget: Int, d: Float, dim: Int) -> [Int] {
    guard budget > 0, !cands.isEmpty, !ground.isEmpty else { return [] }
    let gn = ground.map(norm2), cn = cands.map(norm2)
    var dense = Dense(dim: dim)
    var row = [Float](repeating: 0, count: ground.count)
    var cover = [Float](repeating: 0, count: ground.count)
    func gain() -> Double { var s = 0.0; for g in 0..<row.count { let v = row[g] - cover[g]; if v > 0 { s += Double(v) } }; return s }
    // Max-heap of (gain, index).
    var heap: [(Double, Int)] = []
    func less(_ a: (Double, Int), _ b: (Double, Int)) -> Bool { a.0 < b.0 || (a.0 == b.0 && a.1 > b.1) }
    func push(_ e: (Double, Int)) {
        heap.append(e); var c = heap.count - 1
        while c > 0 { let p = (c - 1) / 2; if less(heap[p], heap[c]) { heap.swapAt(p, c); c = p } else { break } }
    }
    func pop() -> (Double, Int) {
        let top = heap[0]; let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last; var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1; var b = p
                if l < heap.count && less(heap[b], heap[l]) { b = l }
                if r < heap.count && less(heap[b], heap[r]) { b = r }
                if b == p { break }
                heap.swapAt(p, b); p = b
            }
        }
        return top
    }
    for i in cands.indices { simRow(cands[i].features, cn[i], ground, gn, d, &dense, into: &row); push((gain(), i)) }
    var picks: [Int] = []
    while picks.count < budget, !heap.isEmpty {
        let top = pop()
        simRow(cands[top.1].features, cn[top.1], ground, gn, d, &dense, into: &row)
        let g = gain()
        if let next = heap.first, less((g, top.1), next) { push((g, top.1)); continue }
        picks.append(top.1)
        for i in 0..<row.count where row[i] > cover[i] { cover[i] = row[i] }
    }
    return picks
}

/// Exact per-class F(selected) on the sample.
func objective(_ selected: [Record], sample: [Record], d: Float, dim: Int) -> Double {
    var best = [Float](repeating: 0, count: sample.count)
    let sn = sample.map(norm2)
    var dense = Dense(dim: dim)
    var row = [Float](repeating: 0, count: sample.count)
    var byClass: [Int: [Int]] = [:]
    for (i, r) in sample.enumerated() { byClass[r.classIndex, default: []].append(i) }
    for s in selected {
        guard let idx = byClass[s.classIndex] else { continue }
        let g = idx.map { sample[$0] }, gn = idx.map { sn[$0] }
        simRow(s.features, norm2(s), g, gn, d, &dense, into: &row)
        for (j, i) in idx.enumerated() where row[j] > best[i] { best[i] = row[j] }
    }
    return best.reduce(0.0) { $0 + Double($1) }
}

// MARK: - gradients

/// Σ w_i ∇_i as a dense (residuals × (dim + 1)) matrix at the snapshot.
func gradientSum(_ items: [(Record, Double)], _ m: LinearModelSnapshot, dim: Int) -> [Double] {
    let k = m.residualCount, cols = dim + 1
    var acc = [Double](repeating: 0, count: k * cols)
    var r = [Float](repeating: 0, count: k)
    for (rec, w) in items {
        m.residual(features: rec.features, label: rec.label, into: &r)
        for a in 0..<k {
            let s = w * Double(r[a])
            if s == 0 { continue }
            let base = a * cols
            for (i, v) in zip(rec.features.indices, rec.features.values) where Int(i) < dim { acc[base + Int(i)] += s * Double(v) }
            acc[base + dim] += s
        }
    }
    return acc
}

/// The selector's defaults; `referenceSize`, else `CORESET_BENCH_REFERENCE_SIZE`, overrides the reference size,
/// `CORESET_BENCH_CANDIDATE_FACTOR` the candidate screen and `CORESET_BENCH_SEED` the seed (to measure their effect).
func benchConfiguration(k: Int, algorithm: SelectorConfiguration.Algorithm, space: SelectorConfiguration.Space,
                        referenceSize: Int? = nil, screen: Screen? = nil) -> SelectorConfiguration {
    var c = SelectorConfiguration(k: k, algorithm: algorithm, space: space)
    if let r = referenceSize ?? ProcessInfo.processInfo.environment["CORESET_BENCH_REFERENCE_SIZE"].flatMap({ Int($0) }) {
        c.referenceSize = r
    }
    if let f = ProcessInfo.processInfo.environment["CORESET_BENCH_CANDIDATE_FACTOR"].flatMap({ Double($0) }) {
        c.candidateFactor = f
    }
    if let s = ProcessInfo.processInfo.environment["CORESET_BENCH_SEED"].flatMap({ UInt64($0) }) { c.seed = s }
    if let screen {
        c.candidateFactor = screen.factor
        c.seed = screen.seed
    }
    return c
}

/// A candidate factor and a seed: `CORESET_BENCH_SCREEN="F:SEED,F:SEED,..."` makes `eval` measure every algorithm
/// at each (one process, so the greedy reference and the models are computed once for all of them).
struct Screen { var factor: Double; var seed: UInt64 }
let screens: [Screen]? = ProcessInfo.processInfo.environment["CORESET_BENCH_SCREEN"].map {
    $0.split(separator: ",").compactMap { item in
        let p = item.split(separator: ":")
        guard p.count == 2, let f = Double(p[0]), let s = UInt64(p[1]) else { return nil }
        return Screen(factor: f, seed: s)
    }
}

func distance(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { let d = a[i] - b[i]; s += d * d }
    return s.squareRoot()
}

/// SGD over a shuffled fraction of the data. `decayed`: the step decays exponentially to 1% of eta0
/// over the whole run (as `coreset train` does), so that many epochs converge; otherwise the
/// learner's streaming default (inverse scaling), which keeps moving.
func train(_ data: [Record], task: TaskKind, fraction: Double, epochs: Int, seed: UInt64, decayed: Bool = false) -> LinearModelSnapshot {
    var configuration = LearnerConfiguration(task: task, seed: seed)
    if decayed {
        let meanSquaredNorm = data.reduce(0.0) { $0 + Double(VectorMath.squaredNorm($1.features)) } / Double(max(1, data.count))
        let steps = max(1, Int(Double(data.count) * fraction) * epochs)
        configuration.schedule = .exponential(eta0: defaultStepSize(meanSquaredNorm: meanSquaredNorm), rate: 0.01, every: steps)
    }
    var learner = Learner(configuration: configuration)
    var g = SeededGenerator(seed: seed)
    var order = Array(data.indices)
    order.shuffle(using: &g)
    let n = Int(Double(data.count) * fraction)
    for e in 0..<epochs {
        if e > 0 { order.shuffle(using: &g) }
        for i in order.prefix(n) { learner.learn(data[i]) }
    }
    return learner.snapshot()
}

func eval(_ path: String, apricotDir: String?) {
    let (data, _) = readAll(path)
    let task = taskOf(path)
    let dim = data.reduce(0) { max($0, $1.features.dimension) }
    var out: [String: Any] = ["records": data.count, "dimension": dim]
    var g = SeededGenerator(seed: 12345)
    var perm = Array(data.indices)
    perm.shuffle(using: &g)
    let sample = perm.prefix(10_000).map { data[$0] }
    let cands = perm.prefix(40_000).map { data[$0] }
    // The selector fixes D on the first 500 records (warm-up); use the same objective for everyone.
    let fl = FacilityLocation.fitted(.euclidean, sample: Array(data.prefix(500)))
    let d = Float(fl.scale)
    out["D"] = fl.scale
    out["eval_sample"] = sample.count
    out["greedy_candidates"] = cands.count

    // Feature-space streaming coresets (the same runs as `stream`, repeated in memory).
    // Keyed by k, then by the algorithm's name, with ", R = 500" for the small-reference variant.
    var featureCoresets: [Int: [String: WeightedCoreset]] = [:]
    var budgets: [Int: [Int]] = [:]
    func variants(_ k: Int) -> [(name: String, alg: SelectorConfiguration.Algorithm, reference: Int?, screen: Screen?)] {
        if let screens {
            return algorithms.flatMap { a in screens.map { ("\(a.rawValue) F=\($0.factor) seed=\($0.seed)", a, nil, $0) } }
        }
        return algorithms.map { ($0.rawValue, $0, nil, nil) }
            + (k == smallReference.k && ProcessInfo.processInfo.environment["CORESET_BENCH_NO_SMALL_REFERENCE"] == nil ? algorithms.map { ("\($0.rawValue), R = \(smallReference.size)", $0, smallReference.size, nil) } : [])
    }
    for k in ks {
        for v in variants(k) {
            let s = CoresetSelector(configuration: benchConfiguration(k: k, algorithm: v.alg, space: .feature, referenceSize: v.reference, screen: v.screen),
                                    task: task)
            var i = 0
            while i < data.count { let j = min(data.count, i + 1000); s.offer(RecordBatch(data[i..<j])); i = j }
            s.finish()
            featureCoresets[k, default: [:]][v.name] = s.coreset
            if v.reference == nil && budgets[k] == nil { budgets[k] = s.classBudgets() }
        }
    }

    // (a) objective.
    var objRows: [[String: Any]] = []
    let classes = budgets[1000]!.count
    var greedyOrder: [Int: [Record]] = [:]
    let tg = now()
    for c in 0..<classes {
        let cc = cands.filter { $0.classIndex == c }, gc = sample.filter { $0.classIndex == c }
        let picks = lazyGreedy(cands: cc, ground: gc, budget: budgets[1000]![c], d: d, dim: dim)
        greedyOrder[c] = picks.map { cc[$0] }
    }
    out["greedy_seconds"] = now() - tg
    for k in ks {
        var greedySel: [Record] = []
        for c in 0..<classes { greedySel += greedyOrder[c]!.prefix(budgets[k]![c]) }
        let fg = objective(greedySel, sample: sample, d: d, dim: dim)
        var rnd = 0.0
        for _ in 0..<5 { rnd += objective((0..<k).map { _ in data[Int(g.next() % UInt64(data.count))] }, sample: sample, d: d, dim: dim) / 5 }
        func row(_ name: String, _ f: Double) -> [String: Any] {
            ["k": k, "method": name, "F": f, "ratio": f / fg, "normalized": (f - rnd) / (fg - rnd)]
        }
        objRows.append(row("greedy", fg))
        for v in variants(k) { objRows.append(row(v.name, objective(featureCoresets[k]![v.name]!.elements.map(\.record), sample: sample, d: d, dim: dim))) }
        objRows.append(row("uniform random (mean of 5)", rnd))
        if let dir = apricotDir, let text = try? String(contentsOfFile: "\(dir)/picks_k\(k).txt", encoding: .utf8) {
            let picks = text.split(whereSeparator: \.isNewline).compactMap { Int($0) }.map { data[$0] }
            objRows.append(row("apricot (first-records cap)", objective(picks, sample: sample, d: d, dim: dim)))
        }
    }
    out["objective"] = objRows

    // (b) gradient error.
    let models: [(String, LinearModelSnapshot)] = [
        ("mid", train(data, task: task, fraction: 0.1, epochs: 1, seed: 7)),
        ("optimum", train(data, task: task, fraction: 1, epochs: 20, seed: 7, decayed: true)),
    ]
    let zero = train(data, task: task, fraction: 0, epochs: 1, seed: 7)
    let all = data.map { ($0, $0.weight) }
    let fullZero = gradientSum(all, zero, dim: dim)
    let n = Double(data.count)
    var gradRows: [[String: Any]] = []
    for (name, m) in models {
        let full = gradientSum(all, m, dim: dim)
        var modelInfo: [String: Any] = ["model": name,
                                        "full_gradient_norm_over_n": distance(full, [Double](repeating: 0, count: full.count)) / n,
                                        "at_zero_over_n": distance(fullZero, [Double](repeating: 0, count: full.count)) / n]
        var loss = 0.0
        var r = [Double](repeating: 0, count: m.outputCount), z = r
        for rec in data { m.outputs(rec.features, into: &z); loss += m.loss.evaluate(outputs: z, label: rec.label, residual: &r) }
        modelInfo["mean_loss"] = loss / n
        gradRows.append(modelInfo)
        for k in ks {
            var rnd = 0.0
            for _ in 0..<10 {
                let sub = (0..<k).map { _ in (data[Int(g.next() % UInt64(data.count))], n / Double(k)) }
                rnd += distance(full, gradientSum(sub, m, dim: dim)) / 10
            }
            func err(_ c: WeightedCoreset) -> Double { distance(full, gradientSum(c.elements.map { ($0.record, $0.weight) }, m, dim: dim)) }
            for v in variants(k) {
                let fe = err(featureCoresets[k]![v.name]!)
                // The default weights (gradient-matched) and CRAIG's nearest counts, same picks.
                func gradientCoreset(_ weighting: SelectorConfiguration.Weighting) -> WeightedCoreset {
                    var c = benchConfiguration(k: k, algorithm: v.alg, space: .gradient, referenceSize: v.reference, screen: v.screen)
                    c.weighting = weighting
                    let s = CoresetSelector(configuration: c, task: task)
                    s.updateModel(m)
                    var i = 0
                    while i < data.count { let j = min(data.count, i + 1000); s.offer(RecordBatch(data[i..<j])); i = j }
                    s.finish()
                    return s.coreset
                }
                let ge = err(gradientCoreset(.gradientMatch)), gn = err(gradientCoreset(.nearest))
                gradRows.append(["model": name, "k": k, "algorithm": v.name, "random_error": rnd,
                                 "random_relative": rnd / distance(full, [Double](repeating: 0, count: full.count)),
                                 "feature_x_random": fe / rnd, "gradient_x_random": ge / rnd, "gradient_nearest_x_random": gn / rnd])
            }
        }
    }
    out["gradient"] = gradRows
    print(json(out))
}

// MARK: - window (drift)

/// Drift: the stream is the records of classes 0-4 (file order), then those of classes 5-9. With
/// `window` N, the coreset must represent the last N records only. Compares windowed selectors with
/// unwindowed ones, a half-life of N/2, lazy greedy on the window and uniform samples of the window,
/// by the exact objective on the window (ground set: every window record of the same class).
func window(_ path: String, k: Int, n: Int) {
    let (data, task) = readAll(path)
    let dim = data.reduce(0) { max($0, $1.features.dimension) }
    let streamOrder = data.filter { $0.classIndex < 5 } + data.filter { $0.classIndex >= 5 }
    let last = Array(streamOrder.suffix(n))
    let lastPositions = Set(last.map(\.position))
    let fl = FacilityLocation.fitted(.euclidean, sample: Array(streamOrder.prefix(500)))
    let d = Float(fl.scale)
    var rows: [[String: Any]] = []
    func measure(_ name: String, _ c: [(Record, Double)], seconds: Double?) {
        let inside = c.filter { lastPositions.contains($0.0.position) }
        var row: [String: Any] = ["method": name, "size": c.count,
                                  "objective": objective(c.map(\.0), sample: last, d: d, dim: dim),
                                  "weight": c.reduce(0.0) { $0 + $1.1 },
                                  "weight_inside_window": inside.reduce(0.0) { $0 + $1.1 },
                                  "elements_inside_window": inside.count,
                                  "classes": Set(c.map { $0.0.classIndex }).sorted()]
        if let seconds { row["seconds"] = seconds; row["records_per_s"] = Double(streamOrder.count) / seconds }
        rows.append(row)
    }
    for alg in algorithms {
        for mode in ["window", "half-life", "none"] {
            var cfg = benchConfiguration(k: k, algorithm: alg, space: .feature)
            if mode == "window" { cfg.window = n }
            if mode == "half-life" { cfg.halfLife = Double(n) / 2 }
            let t0 = now()
            let s = CoresetSelector(configuration: cfg, task: task)
            var i = 0
            while i < streamOrder.count { let j = min(streamOrder.count, i + 1000); s.offer(RecordBatch(streamOrder[i..<j])); i = j }
            s.finish()
            let c = s.coreset
            measure("\(alg.rawValue), \(mode)", c.elements.map { ($0.record, $0.weight) }, seconds: now() - t0)
        }
    }
    // Lazy greedy on the window with the windowed selector's budgets (proportional to the window's classes).
    var counts: [Int: Int] = [:]
    for r in last { counts[r.classIndex, default: 0] += 1 }
    var greedy: [(Record, Double)] = []
    for (c, cnt) in counts.sorted(by: { $0.key < $1.key }) {
        let members = last.filter { $0.classIndex == c }
        let budget = max(1, Int((Double(k) * Double(cnt) / Double(n)).rounded()))
        greedy += lazyGreedy(cands: members, ground: members, budget: budget, d: d, dim: dim).map { (members[$0], 0) }
    }
    measure("lazy greedy on the window", greedy, seconds: nil)
    var g = SeededGenerator(seed: 99)
    var rnd = 0.0
    for _ in 0..<5 {
        let pick = (0..<k).map { _ in last[Int(g.next() % UInt64(last.count))] }
        rnd += objective(pick, sample: last, d: d, dim: dim) / 5
    }
    rows.append(["method": "uniform sample of the window (mean of 5)", "size": k, "objective": rnd])
    print(json(["records": streamOrder.count, "window": n, "k": k, "D": fl.scale, "rows": rows]))
}

// As the `coreset` command does, so the peak RSS measured here is the command's.
MemoryReturn.returnLargeFreedBlocks()
let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "stream":
    stream(args[2], k: Int(args[3])!, alg: SelectorConfiguration.Algorithm(rawValue: args[4])!, threads: args.count > 5 ? Int(args[5])! : 1,
           referenceSize: args.count > 6 ? Int(args[6])! : nil)
case "window":
    window(args[2], k: Int(args[3])!, n: Int(args[4])!)
case "eval":
    eval(args[2], apricotDir: args.count > 3 ? args[3] : nil)
default:
    _ = "usage: BenchSelection stream FILE K ALGORITHM [THREADS [REFERENCE_SIZE]] | eval FILE [APRICOT_DIR] | window FILE K N\n".withCString { write(2, $0, strlen($0)) }
    exit(64)
}
