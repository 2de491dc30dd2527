// Evaluator of the merge benchmark (driven by tools/bench_merge/bench_merge.py, which writes RESULTS.md).
//
//   BenchMerge eval DATA [--model MODEL] NAME=CORESET...
//       Reads DATA (the whole stream) and each weighted coreset file (LIBSVM as `coreset select` and
//       `coreset merge` write it, read back with CoresetKit's CoresetFileReader), then prints one JSON
//       line with, per coreset: (a) the exact per-class facility-location objective on a fixed
//       10,000-record random sample of DATA (D from the first 500 records, as the selector's warm-up
//       and tools/bench_selection fix it), also for uniform random subsets of the same size (mean of 5);
//       (b) the gradient error ‖Σ_i ∇_i − Σ_j w_j ∇_j‖ at a mid-training and a near-optimal logistic
//       model trained here, relative to uniform random subsets weighted n/k (mean of 10 draws);
//       (c) per-class weight totals against the data's class counts. Coresets whose name holds `gradient_` were
//       selected in gradient space at MODEL: their objective (and their random baseline's) is measured
//       there too, with D from the first 500 records' gradients.
import CoresetKit
#if canImport(Glibc)
import Glibc
#endif
import Foundation

func json(_ v: Any) -> String {
    let d = try! JSONSerialization.data(withJSONObject: v, options: [.sortedKeys])
    return String(decoding: d, as: UTF8.self)
}

func readAll(_ path: String) -> [Record] {
    let reader = RecordReader(inputs: [.file(path)])
    var out: [Record] = []
    while let b = try! reader.next() { out += b.records }
    return out
}

/// Exact per-class F(selected) on the sample with s = max(0, D − ‖x − y‖) (feature space).
func objective(_ selected: [Record], sample: [Record], fl: FacilityLocation) -> Double {
    fl.evaluate(selected: selected, on: sample, perClass: true)
}

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

func distance(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { let d = a[i] - b[i]; s += d * d }
    return s.squareRoot()
}

func train(_ data: [Record], fraction: Double, epochs: Int, seed: UInt64) -> LinearModelSnapshot {
    var learner = Learner(configuration: LearnerConfiguration(task: .binary, seed: seed))
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

func eval(_ path: String, model modelPath: String?, _ named: [(String, String)]) {
    let data = readAll(path)
    let dim = data.reduce(0) { max($0, $1.features.dimension) }
    var g = SeededGenerator(seed: 12345)
    var perm = Array(data.indices)
    perm.shuffle(using: &g)
    let sample = perm.prefix(10_000).map { data[$0] }
    let fl = FacilityLocation.fitted(.euclidean, sample: Array(data.prefix(500)))
    var gradientFL: FacilityLocation?
    if let modelPath {
        var learner = try! ModelBundle.read(from: modelPath).learner()
        gradientFL = FacilityLocation.fitted(.euclidean, sample: Array(data.prefix(500)), embedding: learner.snapshot())
    }
    var counts: [Int: Double] = [:]
    for r in data { counts[r.classIndex, default: 0] += r.weight }
    var out: [String: Any] = ["records": data.count, "dimension": dim, "D": fl.scale, "eval_sample": sample.count]

    var reader = CoresetFileReader(format: .libsvm)
    var coresets: [(String, WeightedCoreset)] = []
    for (name, file) in named { coresets.append((name, try! reader.read(path: file))) }

    let models: [(String, LinearModelSnapshot)] = [
        ("mid", train(data, fraction: 0.1, epochs: 1, seed: 7)),
        ("optimum", train(data, fraction: 1, epochs: 5, seed: 7)),
    ]
    let all = data.map { ($0, $0.weight) }
    let full = models.map { gradientSum(all, $0.1, dim: dim) }
    var randomCache: [String: (objective: Double, gradient: [Double])] = [:]
    func random(_ k: Int, _ fl: FacilityLocation, space: String) -> (objective: Double, gradient: [Double]) {
        if let r = randomCache["\(space) \(k)"] { return r }
        var rg = SeededGenerator(seed: UInt64(1000 + k))
        var f = 0.0
        for _ in 0..<5 { f += objective((0..<k).map { _ in data[Int(rg.next() % UInt64(data.count))] }, sample: sample, fl: fl) / 5 }
        var errs: [Double] = []
        for (mi, m) in models.enumerated() {
            var e = 0.0
            for _ in 0..<10 {
                let sub = (0..<k).map { _ in (data[Int(rg.next() % UInt64(data.count))], Double(data.count) / Double(k)) }
                e += distance(full[mi], gradientSum(sub, m.1, dim: dim)) / 10
            }
            errs.append(e)
        }
        randomCache["\(space) \(k)"] = (f, errs)
        return (f, errs)
    }
    var rows: [[String: Any]] = []
    for (name, c) in coresets {
        let inGradientSpace = name.contains("gradient_") && gradientFL != nil
        let space = inGradientSpace ? gradientFL! : fl
        let rnd = random(c.count, space, space: inGradientSpace ? "gradient" : "feature")
        var row: [String: Any] = ["coreset": name, "size": c.count, "total_weight": c.totalWeight,
                                  "objective_space": inGradientSpace ? "gradient" : "feature"]
        var classTotals: [String: Double] = [:]
        for (cls, n) in counts { classTotals["\(cls)"] = c.totalWeight(ofClass: cls) - n }
        row["class_weight_minus_count"] = classTotals
        row["objective"] = objective(c.elements.map(\.record), sample: sample, fl: space)
        row["random_objective"] = rnd.objective
        for (mi, m) in models.enumerated() {
            let e = distance(full[mi], gradientSum(c.elements.map { ($0.record, $0.weight) }, m.1, dim: dim))
            row["gradient_error_\(m.0)"] = e
            row["random_gradient_error_\(m.0)"] = rnd.gradient[mi]
        }
        rows.append(row)
    }
    out["coresets"] = rows
    print(json(out))
}

let args = CommandLine.arguments
if args.count >= 4 && args[1] == "eval" {
    let model = args[3] == "--model" ? args[4] : nil
    eval(args[2], model: model, args[(model == nil ? 3 : 5)...].map { a in
        let p = a.split(separator: "=", maxSplits: 1)
        return (String(p[0]), String(p[1]))
    })
} else {
    FileHandle.standardError.write("usage: BenchMerge eval DATA [--model MODEL] NAME=CORESET...\n".data(using: .utf8)!)
    exit(64)
}
