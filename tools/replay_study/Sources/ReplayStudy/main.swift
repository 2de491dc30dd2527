// Usage: ReplayStudy TRAIN TEST [options]
//   --k-frac 0.01,0.1   memory sizes as fractions of the training stream
//   --replay 4          replay steps per arriving record (R); budget of every non-one-pass mode = (1+R)·n steps
//   --every 1000        records between memory refreshes and model snapshots (closed loop)
//   --ref N             reference reservoir per class of the selector (default: max(1000, 10·k))
//   --modes a,b,c,d,e,f,g   (g = CRAIG feature-space coreset only; costs a second selector pass)
//   --seed S            seed of the learners, reservoir and selector
//   --limit N           use only the first N training records
//   --space S           selector space of (c): gradient (closed loop, default) or feature (CRAIG's convex recipe)
//   --omega W           replay weight ω of OnlineReplayConfiguration (1 = every step the same size)
//
// Modes (binary logistic regression, λ = 1e-5, default SGD budget 0.2/sqrt(1 + t/1000) per arrival):
//   a  one-pass online (progressive validation), n steps
//   b  online + replay of a uniform reservoir of k (weights n/k), R replay steps per arrival
//   c  online + replay of the CoresetSelector's weighted coreset (sieve++, gradient space, closed loop:
//      updateModel(snapshot) every --every records), R replay steps per arrival
//   d  coreset only: the final coreset of (c), trained from zero for (1+R)·n steps, schedule decayed to 1%
//   e  uniform subset only: the final reservoir of (b), trained the same way
//   f  full data, (1+R) shuffled epochs, schedule decayed to 1% (the honest baseline)
//   g  CRAIG: feature-space sieve++ coreset of the stream, trained like (d)
import CoresetKit
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func eprint(_ s: String) { fputs(s + "\n", stderr) }

func load(_ path: String) throws -> [Record] {
    let reader = RecordReader(inputs: [.file(path)])
    var out: [Record] = []
    while let b = try reader.next() { out.append(contentsOf: b.records) }
    return out
}

// MARK: Arguments

var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    let v = args[i + 1]
    args.removeSubrange(i...(i + 1))
    return v
}
let kFracs = (option("--k-frac") ?? "0.01,0.1").split(separator: ",").map { Double($0)! }
let replayPerRecord = Int(option("--replay") ?? "4")!
let every = Int(option("--every") ?? "1000")!
let refOption = option("--ref").map { Int($0)! }
let modes = Set((option("--modes") ?? "a,b,c,d,e,f").split(separator: ",").map(String.init))
let seed = UInt64(option("--seed") ?? "1")!
let limit = Int(option("--limit") ?? "0")!
let omega = Double(option("--omega") ?? "1")!
let space = SelectorConfiguration.Space(rawValue: option("--space") ?? "gradient")!
guard args.count == 2 else {
    eprint("usage: ReplayStudy TRAIN TEST [--k-frac 0.01,0.1] [--replay 4] [--every 1000] [--ref N] [--modes a,b,c,d,e,f,g] [--seed S] [--limit N]")
    exit(64)
}

let loaded = try load(args[0])
let train = limit > 0 && loaded.count > limit ? Array(loaded[0..<limit]) : loaded
let test = try load(args[1])
let n = train.count
let budget = (1 + replayPerRecord) * n
eprint("train \(n) records, test \(test.count); R = \(replayPerRecord), budget (1+R)n = \(budget) steps, refresh every \(every)")

let task = TaskKind.binary
let baseConfig = LearnerConfiguration(task: task, seed: seed)
let decayed = LearningRateSchedule.exponential(eta0: baseConfig.schedule.initialRate, rate: 0.01, every: budget)

struct Evaluation { var logLoss: Double; var accuracy: Double }

func evaluate(_ learner: Learner) -> Evaluation {
    var loss = 0.0, correct = 0
    for r in test {
        let out = learner.outputs(r.features)
        loss += learner.configuration.loss.value(output: out[0], label: r.label)
        if learner.configuration.loss.predictedLabel(outputs: out) == r.label { correct += 1 }
    }
    return Evaluation(logLoss: loss / Double(test.count), accuracy: Double(correct) / Double(test.count))
}

/// ‖Σ_j (γ_j/Γ) ∇ℓ_j − (1/n) Σ_i ∇ℓ_i‖ / ‖(1/n) Σ_i ∇ℓ_i‖ at the learner's model (gradients with bias column).
func gradientError(_ learner: Learner, memory: [(record: Record, weight: Double)]) -> Double {
    let d = learner.featureCount + 1
    func grad(_ items: [(Record, Double)]) -> [Double] {
        var g = [Double](repeating: 0, count: d)
        let total = items.reduce(0) { $0 + $1.1 }
        for (r, w) in items {
            let res = learner.configuration.loss.residual(output: learner.outputs(r.features)[0], label: r.label) * w / total
            for (j, v) in zip(r.features.indices, r.features.values) { g[Int(j)] += res * Double(v) }
            g[d - 1] += res
        }
        return g
    }
    let full = grad(train.map { ($0, 1.0) })
    let mem = grad(memory.map { ($0.record, $0.weight) })
    var num = 0.0, den = 0.0
    for j in 0..<d { num += (mem[j] - full[j]) * (mem[j] - full[j]); den += full[j] * full[j] }
    return (num / den).squareRoot()
}

/// Algorithm R, weights n/k.
struct Reservoir {
    let k: Int
    var records: [Record] = []
    var seen = 0
    var rng: SeededGenerator
    init(k: Int, seed: UInt64) { self.k = k; rng = SeededGenerator(seed: seed) }
    mutating func offer(_ r: Record) {
        seen += 1
        if records.count < k { records.append(r) } else {
            let j = Int(rng.next() % UInt64(seen))
            if j < k { records[j] = r }
        }
    }
    var weighted: [(record: Record, weight: Double)] { records.map { ($0, Double(seen) / Double(records.count)) } }
}

struct Row {
    var mode: String
    var k: Int
    var eval: Evaluation
    var seconds: Double
    var selectSeconds: Double = 0
    var steps: Int
    var progressive: Double = .nan
    var gradError: Double = .nan
    var note = ""
}
func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
func f4(_ x: Double) -> String { x.isNaN ? "–" : String(Int((x * 10000).rounded())).leftPadded4() }
extension String {
    func leftPadded4() -> String {
        // x * 10000 as integer -> "0.xxxx"
        guard let v = Int(self) else { return self }
        let neg = v < 0
        let a = abs(v)
        let s = "\(a / 10000)." + String(repeating: "0", count: 4 - String(a % 10000).count) + String(a % 10000)
        return neg ? "-" + s : s
    }
}
func f2(_ x: Double) -> String {
    let v = Int((x * 100).rounded())
    return "\(v / 100)." + (v % 100 < 10 ? "0" : "") + "\(v % 100)"
}

func printRow(_ r: Row) {
    let line = "| \(pad(r.mode, 34)) | \(pad(String(r.k), 6)) | \(f4(r.eval.logLoss)) | \(f2(100 * r.eval.accuracy))% | \(pad(f2(r.seconds), 7)) | \(pad(f2(r.selectSeconds), 6)) | \(pad(String(r.steps), 9)) | \(f4(r.progressive)) | \(r.gradError.isNaN ? "–" : f2(r.gradError)) |"
    print(line)
    eprint(line)
}

print("R = \(replayPerRecord), ω = \(omega), refresh every \(every), n = \(n), seed \(seed)\n")
print("| mode | k | test log-loss | test acc | seconds | sel. s | steps | progressive | memory grad. err |")
print("|---|---|---|---|---|---|---|---|---|")

/// Trains a fresh learner only on a weighted set for `budget` steps with the fully decayed schedule.
func subsetOnly(_ mode: String, k: Int, memory: [(record: Record, weight: Double)]) {
    let t0 = now()
    var config = baseConfig
    config.schedule = decayed
    var l = Learner(configuration: config)
    l.setReplaySet(ReplaySet(records: memory.map(\.record), weights: memory.map(\.weight)))
    l.replaySteps(budget)
    let r = Row(mode: mode, k: k, eval: evaluate(l), seconds: now() - t0, steps: budget)
    printRow(r)
}

// (a) and (f) do not depend on k.
if modes.contains("a") {
    let t0 = now()
    var l = OnlineReplayLearner(configuration: OnlineReplayConfiguration(learner: baseConfig))
    var prog = 0.0
    for r in train { prog += l.observe(r).loss }
    printRow(Row(mode: "(a) one-pass online", k: 0, eval: evaluate(l.learner), seconds: now() - t0, steps: n, progressive: prog / Double(n)))
}
if modes.contains("f") {
    let t0 = now()
    var config = baseConfig
    config.schedule = decayed
    var l = Learner(configuration: config)
    var order = Array(0..<n)
    var rng = SeededGenerator(seed: seed)
    for _ in 0..<(1 + replayPerRecord) {
        order.shuffle(using: &rng)
        for i in order { l.learn(train[i]) }
    }
    printRow(Row(mode: "(f) full data \(1 + replayPerRecord) epochs, decayed", k: n, eval: evaluate(l), seconds: now() - t0, steps: budget))
}

for frac in kFracs {
    let k = max(1, Int((frac * Double(n)).rounded()))
    let ref = refOption ?? max(1000, 10 * k)
    var finalReservoir: [(record: Record, weight: Double)] = []
    var finalCoreset: [(record: Record, weight: Double)] = []

    if modes.contains("b") || modes.contains("e") {
        let t0 = now()
        var l = OnlineReplayLearner(configuration: OnlineReplayConfiguration(learner: baseConfig, replayWeight: omega))
        var res = Reservoir(k: k, seed: seed &+ 17)
        var prog = 0.0
        for (i, r) in train.enumerated() {
            res.offer(r)
            prog += l.observe(r).loss
            if (i + 1) % every == 0 || i + 1 == k { l.setMemory(res.weighted) }
            if modes.contains("b") { l.replay(steps: replayPerRecord) }
        }
        finalReservoir = res.weighted
        if modes.contains("b") {
            let secs = now() - t0
            printRow(Row(mode: "(b) online + uniform replay", k: k, eval: evaluate(l.learner), seconds: secs,
                         steps: n + l.replayStepCount, progressive: prog / Double(n),
                         gradError: gradientError(l.learner, memory: finalReservoir)))
        }
    }

    if modes.contains("c") || modes.contains("d") {
        let t0 = now()
        var sel = 0.0
        var l = OnlineReplayLearner(configuration: OnlineReplayConfiguration(learner: baseConfig, replayWeight: omega))
        let selector = CoresetSelector(
            configuration: SelectorConfiguration(k: k, algorithm: .sieveStreamingPlusPlus, space: space,
                                                 referenceSize: ref, seed: seed),
            task: task)
        var prog = 0.0
        for (i, r) in train.enumerated() {
            let s0 = now()
            selector.offer(r)
            sel += now() - s0
            prog += l.observe(r).loss
            if (i + 1) % every == 0 {
                let s1 = now()
                selector.updateModel(l.snapshot())
                let c = selector.coreset
                sel += now() - s1
                l.setMemory(c.weightedRecords)
            }
            l.replay(steps: replayPerRecord)
        }
        let s2 = now()
        selector.finish()
        finalCoreset = selector.coreset.weightedRecords
        sel += now() - s2
        let secs = now() - t0
        printRow(Row(mode: "(c) online + coreset replay" + (space == .feature ? " (feature)" : ""), k: k, eval: evaluate(l.learner), seconds: secs, selectSeconds: sel,
                     steps: n + l.replayStepCount, progressive: prog / Double(n),
                     gradError: gradientError(l.learner, memory: finalCoreset)))
        let ws = finalCoreset.map(\.weight).sorted(by: >)
        let tw = ws.reduce(0, +)
        eprint("    coreset weights: total \(Int(tw)), largest share \(f4(ws.first.map { $0 / tw } ?? 0)), top 10 share \(f4(ws.prefix(10).reduce(0, +) / tw))")
        eprint("    selector: reselections \(selector.reselectionCount), stored \(selector.storedElementCount), references \(selector.referenceCount), coreset \(finalCoreset.count)")
    }

    if modes.contains("d") { subsetOnly("(d) coreset only (final of c)", k: k, memory: finalCoreset) }
    if modes.contains("e") { subsetOnly("(e) uniform subset only", k: k, memory: finalReservoir) }
    if modes.contains("g") {
        let t0 = now()
        let selector = CoresetSelector(
            configuration: SelectorConfiguration(k: k, algorithm: .sieveStreamingPlusPlus, space: .feature,
                                                 referenceSize: ref, seed: seed),
            task: task)
        for r in train { selector.offer(r) }
        selector.finish()
        let c = selector.coreset.weightedRecords
        eprint("    CRAIG feature-space selection \(f2(now() - t0)) s")
        subsetOnly("(g) CRAIG feature coreset only", k: k, memory: c)
    }
}
