// Neural-network training benchmark (driven by tools/bench_mlp/bench.py, which writes RESULTS.md and the plot).
//
//   BenchMLP TRAIN TEST [--hidden 512,256] [--batch 128] [--epochs 8] [--eta 0.05] [--eval-every 50]
//            [--methods full,full-skip,crest-prune-sb,crest-cached] [--seed 1] [--limit N] [--skip 0.05]
//            [--stop-at-target 1] [--target ACC] [--dense-until 1500] [--ema 0.99] [--tag SUFFIX]
//            sweeps: [--subset-size N] [--drop 0|1] [--learned-checks 2] [--learned-loss 0.1]
//                    [--sb-factor F] [--prune-rate R] [--prune-below M] [--prune-factor F]
//
// Every method trains the same network (same initialisation, optimizer, schedule, batch size B and step
// budget: `epochs` passes of the full data in mini-batches of B) in this one process, one after the other,
// in one loop: each step is one SGD step on one mini-batch of at most B records.
//   full            shuffled passes over all training records. Uniform random mini-batches are this same
//                   procedure (drawn without replacement within a pass), so there is no separate row.
//   full-skip       the same, with the skip of fitted records' backward passes (loss < --skip).
//   full-sb         the same, with backward passes sampled by loss (BackwardSampler, factor --sb-factor 2).
//   crest-prune-sb  CrestTrainer `sampled` (the library's default): the next B records of the pass, InfoBatch
//                   pruning on cached losses (0.5) and sampled backward passes (2).
//   crest-pprune-sb the same with proportional pruning instead (`pruneFactor` 2): each record kept with
//                   probability min(1, max(0.1, e / (2 mean e))) of its cached error e (weight 1/q).
//   crest-sb        the same without the pruning.
//   crest-cached    CrestTrainer `cached` (the earlier default): mini-batch coresets of B from 512 candidates
//                   on proxies cached from the training forward passes, learned records dropped, the skip.
//   crest-cached-sb the same with sampled backward passes.
//   crest-cached-noskip  crest-cached without the skip.
//   crest-fresh     CrestTrainer `coreset`: the first design, 8 fresh random subsets of 512 run through the
//                   network per round, a quadratic loss model checked every 8 steps (no skip).
// The clock is the training thread's CPU time (selection, checks and the weight average's upkeep included,
// test evaluation excluded), so other processes on a shared machine do not inflate one method's time; wall
// time is reported too. With --stop-at-target 1, full runs first (its own final weights set the target:
// final accuracy minus 1 point) and the others stop once they reach it. With --ema BETA every evaluation is
// read twice: `test_accuracy` of an exponential moving average of the weights and `raw_accuracy` of the
// weights themselves; a method stops once both reached the target. Prints one JSON line per evaluation:
// {"method","steps","seconds","wall_seconds","selection_seconds","test_accuracy","test_loss"[,"raw_accuracy"]}.
import CoresetKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

func readAll(_ path: String, labels: LabelMap?) -> (records: [Record], labels: LabelMap) {
    let loaded = try! loadRecords(path: path, options: ReaderOptions(), labels: labels) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    return (loaded.records, loaded.labels)
}

func json(_ v: [String: Any]) -> String {
    let d = try! JSONSerialization.data(withJSONObject: v, options: [.sortedKeys])
    return String(decoding: d, as: UTF8.self)
}

/// CPU seconds of the calling thread.
func threadSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// An exponential moving average of the network's weights (Polyak averaging), updated after each step.
struct WeightAverage {
    var network: NeuralNetwork
    let beta: Float
    var updates = 0
    init(_ network: NeuralNetwork, beta: Double) { self.network = network; self.beta = Float(beta) }
    mutating func update(_ current: NeuralNetwork) {
        updates += 1
        // Warm-up: the average starts as the mean of the first steps, then forgets at rate 1 − beta.
        let b = min(beta, Float(updates) / Float(updates + 1))
        for l in current.weights.indices {
            Self.blend(&network.weights[l], current.weights[l], b)
            Self.blend(&network.biases[l], current.biases[l], b)
        }
    }
    static func blend(_ avg: inout [Float], _ w: [Float], _ b: Float) {
        avg.withUnsafeMutableBufferPointer { a in
            w.withUnsafeBufferPointer { x in
                for i in 0..<a.count { a[i] = b * a[i] + (1 - b) * x[i] }
            }
        }
    }
}

var args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2 else {
    FileHandle.standardError.write(Data("usage: BenchMLP TRAIN TEST [options]\n".utf8))
    exit(64)
}
let trainPath = args.removeFirst(), testPath = args.removeFirst()
nonisolated(unsafe) var options: [String: String] = [:]
while let a = args.first {
    args.removeFirst()
    guard a.hasPrefix("--"), let v = args.first else { fatalError("bad argument \(a)") }
    args.removeFirst()
    options[String(a.dropFirst(2))] = v
}
func opt(_ k: String, _ d: Double) -> Double { options[k].flatMap(Double.init) ?? d }
let hidden = (options["hidden"] ?? "512,256").split(separator: ",").map { Int($0)! }
let batch = Int(opt("batch", 128))
let epochs = opt("epochs", 8)
let eta = opt("eta", 0.05)
let evalEvery = Int(opt("eval-every", 50))
// Evaluations cost a test-set forward pass each (off the clock, but not off the bench's run time): every
// `eval-every` steps while the target is usually met, every 5 times that after `dense-until` steps.
let denseUntil = Int(opt("dense-until", 1500))
func evalInterval(at steps: Int) -> Int { steps < denseUntil ? evalEvery : 5 * evalEvery }
let seed = UInt64(opt("seed", 1))
let skip = opt("skip", 0.05)
// --ema BETA: evaluate an exponential moving average of the weights (0: the weights themselves).
let ema = opt("ema", 0)
let stopAtTarget = opt("stop-at-target", 0) != 0 || options["target"] != nil
var methods = (options["methods"] ?? "full,full-skip,crest-cached,crest-fresh").split(separator: ",").map(String.init)
if stopAtTarget, let i = methods.firstIndex(of: "full") { methods.remove(at: i); methods.insert("full", at: 0) }

var (train, labels) = readAll(trainPath, labels: nil)
if let limit = options["limit"].flatMap(Int.init), limit < train.count { train = Array(train.prefix(limit)) }
let test = readAll(testPath, labels: labels).records
let dimension = train.reduce(0) { max($0, $1.features.dimension) }
let classes = labels.classCount
let totalSteps = Int(epochs * Double(train.count) / Double(batch))
// Exponential decay to 5% of eta0 over the budget, the same clock (steps) for every method.
let schedule = LearningRateSchedule.exponential(eta0: eta, rate: 0.05, every: totalSteps)
FileHandle.standardError.write(Data("bench_mlp: \(train.count) train, \(test.count) test, d=\(dimension), K=\(classes), hidden \(hidden), B=\(batch), \(totalSteps) steps, seed \(seed)\n".utf8))

// --target ACC sets the target directly (for sweeps that need no full-data run).
nonisolated(unsafe) var target: Double? = options["target"].flatMap(Double.init)
let givenTarget = target != nil

/// Evaluates on the test set (off the clock); true when the method may stop. With --ema, `test_accuracy`
/// is the weight average's and `raw_accuracy` the weights' own, and the method stops once both reached the target.
nonisolated(unsafe) var rawReached = false
func evaluateRow(_ net: NeuralNetwork, averaged: NeuralNetwork?, method: String, steps: Int, seconds: Double, wall: Double,
                 selection: Double) -> Bool {
    let raw = net.evaluate(test)
    let s = averaged.map { $0.evaluate(test) } ?? raw
    var row: [String: Any] = ["method": method + (options["tag"] ?? ""), "seed": Int(seed), "steps": steps, "seconds": seconds,
                              "wall_seconds": wall, "selection_seconds": selection, "test_accuracy": s.accuracy, "test_loss": s.loss]
    if averaged != nil { row["raw_accuracy"] = raw.accuracy }
    FileHandle.standardOutput.write(Data((json(row) + "\n").utf8))
    guard let target else { return false }
    if raw.accuracy >= target { rawReached = true }
    // With --target given, full stops there too (diagnostic sweeps); otherwise it runs its budget to set the target.
    return stopAtTarget && (method != "full" || givenTarget) && s.accuracy >= target && rawReached
}

for method in methods {
    let net = NeuralNetwork(inputDimension: dimension, hidden: hidden, classCount: classes, seed: seed)
    let optimizer = NetworkOptimizer(schedule: schedule, momentum: 0.9, l2: 1e-5)
    var seconds = 0.0, wall = 0.0
    var lastAccuracy = 0.0
    rawReached = false
    _ = evaluateRow(net, averaged: ema > 0 ? net : nil, method: method, steps: 0, seconds: 0, wall: 0, selection: 0)
    switch method {
    case "full", "full-skip", "full-sb":
        var network = net, sgd = optimizer
        var average = ema > 0 ? WeightAverage(net, beta: ema) : nil
        var rng = SeededGenerator(seed: seed &+ 77)
        var order = Array(train.indices)
        var g = NeuralNetwork.Gradient(for: network)
        var work = NeuralNetwork.BatchWorkspace()
        let skipBelow = method == "full-skip" ? skip : -1
        // full-sb: backward passes sampled by loss with importance weights (BackwardSampler), no skip.
        var sampler = BackwardSampler(factor: method == "full-sb" ? opt("sb-factor", 2) : 1, seed: seed &+ 55)
        var steps = 0, position = order.count, skipped = 0
        while steps < totalSteps {
            let t0 = threadSeconds(), w0 = monotonicSeconds()
            for _ in 0..<min(evalInterval(at: steps), totalSteps - steps) {
                if position + batch > order.count { order.shuffle(using: &rng); position = 0 }
                g.reset(for: network)
                let records = order[position..<(position + batch)].map { train[$0] }
                network.accumulateGradients(records, into: &g, work: &work, skipBelow: skipBelow,
                                            backwardWeight: { sampler.weight(forLoss: $1) })
                skipped += work.backpropagated.lazy.filter { !$0 }.count
                position += batch
                sgd.step(&network, gradient: g)
                average?.update(network)
                steps += 1
            }
            seconds += threadSeconds() - t0
            wall += monotonicSeconds() - w0
            if evaluateRow(network, averaged: average?.network, method: method, steps: steps, seconds: seconds, wall: wall, selection: 0) { break }
        }
        if method == "full" && !givenTarget { lastAccuracy = network.evaluate(test).accuracy }
        FileHandle.standardError.write(Data("bench_mlp: \(method): \(String(format: "%.1f", seconds)) s, skipped \(skipped) of \(steps * batch) backward passes\n".utf8))
    case "crest-cached", "crest-cached-noskip", "crest-fresh", "crest-sb", "crest-cached-sb", "crest-prune-sb", "crest-pprune-sb":
        // Each method's settings are spelled out here, not taken from CrestConfiguration's defaults, so a
        // row means the same thing when the library's default changes.
        var config = CrestConfiguration()
        config.batches = .cached
        config.batchSize = batch
        config.seed = seed &+ 99
        config.subsetSize = 512
        config.dropLearned = true
        config.learnedChecks = 2
        config.learnedLoss = 0.1
        config.skipFittedLoss = skip
        config.backwardSampling = 0
        config.pruneRate = 0
        config.pruneFactor = 0
        switch method {
        case "crest-fresh":
            // The earlier design as it was benchmarked: fresh subsets, the loss model, no drops, no skip.
            config.batches = .coreset
            config.dropLearned = false
            config.learnedChecks = 3
            config.skipFittedLoss = 0
        case "crest-cached-noskip":
            config.skipFittedLoss = 0
        case "crest-sb", "crest-prune-sb", "crest-pprune-sb":
            // `sampled`: plain passes (the next B records each step, no coreset), no drops, no skip, backward
            // passes sampled by loss (factor 2); crest-prune-sb also prunes low-loss records InfoBatch-style
            // (0.5, the library's default) before their forward pass, crest-pprune-sb in proportion to their
            // cached error (factor 2, opt-in).
            config.batches = .sampled
            config.dropLearned = false
            config.skipFittedLoss = 0
            config.backwardSampling = 2
            config.pruneRate = method == "crest-prune-sb" ? 0.5 : 0
            config.pruneBelowMean = 1
            config.pruneFactor = method == "crest-pprune-sb" ? 2 : 0
        case "crest-cached-sb":
            config.backwardSampling = 2
        default:
            break
        }
        if method != "crest-fresh" {
            // Sweeps (each option overrides the method's setting).
            config.subsetSize = Int(opt("subset-size", Double(config.subsetSize)))
            config.skipFittedLoss = opt("skip", config.skipFittedLoss)
            config.dropLearned = opt("drop", config.dropLearned ? 1 : 0) != 0
            config.learnedChecks = Int(opt("learned-checks", Double(config.learnedChecks)))
            config.learnedLoss = opt("learned-loss", config.learnedLoss)
            config.backwardSampling = opt("sb-factor", config.backwardSampling)
            config.pruneRate = opt("prune-rate", config.pruneRate)
            config.pruneBelowMean = opt("prune-below", config.pruneBelowMean)
            config.pruneFactor = opt("prune-factor", config.pruneFactor)
        }
        var trainer = CrestTrainer(network: net, optimizer: optimizer, configuration: config)
        var average = ema > 0 ? WeightAverage(net, beta: ema) : nil
        var steps = 0
        while steps < totalSteps {
            let n = min(evalInterval(at: steps), totalSteps - steps)
            let t0 = threadSeconds(), w0 = monotonicSeconds()
            if average != nil {
                for _ in 0..<n { trainer.train(steps: 1, pool: train); average!.update(trainer.network) }
            } else {
                trainer.train(steps: n, pool: train)
            }
            seconds += threadSeconds() - t0
            wall += monotonicSeconds() - w0
            steps += n
            if evaluateRow(trainer.network, averaged: average?.network, method: method, steps: steps, seconds: seconds, wall: wall,
                           selection: trainer.statistics.selectionSeconds + trainer.statistics.checkSeconds) { break }
        }
        let st = trainer.statistics
        FileHandle.standardError.write(Data("bench_mlp: \(method): \(String(format: "%.1f", seconds)) s, \(st.selections) selections, \(st.passes) passes, \(st.checks) checks, selection \(String(format: "%.2f", st.selectionSeconds)) s, checks \(String(format: "%.2f", st.checkSeconds)) s, dropped \(st.droppedRecords), pruned \(st.prunedRecords), backward skipped \(st.skippedBackward) of \(st.skippedBackward + st.backpropagated)\n".utf8))
    default:
        fatalError("unknown method \(method)")
    }
    if method == "full" && !givenTarget { target = lastAccuracy - 0.01 }
}
