// Neural-network training benchmark (driven by tools/bench_mlp/bench.py, which writes RESULTS.md and the plot).
//
//   BenchMLP TRAIN TEST [--hidden 128] [--batch 128] [--epochs 6] [--eta 0.05] [--eval-every 50]
//            [--methods full,crest,random] [--rounds 1] [--seed 1] [--limit N] [--subset-size 512]
//            [--subsets 8] [--threshold 0.1]
//
// Every method trains the same network (same initialisation, optimizer, schedule and step budget:
// `epochs` passes of the full data in mini-batches of B) in this one process, one after the other:
//   full    shuffled epochs over all training records (the reference),
//   crest   CrestTrainer with mini-batch coresets (selection time included in the wall time),
//   crest-drop  the same, also dropping learned records (loss < 0.1 at 3 selections in a row),
//   random  CrestTrainer with uniform random mini-batches of the same size from the same random subsets.
// Every `eval-every` steps the clock is paused and the test set evaluated. Prints one JSON line per
// evaluation: {"method","round","steps","seconds","selection_seconds","test_accuracy","test_loss"}.
import CoresetKit
import Foundation

func readAll(_ path: String, labels: LabelMap?) -> (records: [Record], labels: LabelMap) {
    let loaded = try! loadRecords(path: path, options: ReaderOptions(), labels: labels) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    return (loaded.records, loaded.labels)
}

func json(_ v: [String: Any]) -> String {
    let d = try! JSONSerialization.data(withJSONObject: v, options: [.sortedKeys])
    return String(decoding: d, as: UTF8.self)
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
let hidden = (options["hidden"] ?? "128").split(separator: ",").map { Int($0)! }
let batch = Int(opt("batch", 128))
let epochs = opt("epochs", 6)
let eta = opt("eta", 0.05)
let evalEvery = Int(opt("eval-every", 50))
let rounds = Int(opt("rounds", 1))
let seed = UInt64(opt("seed", 1))
let methods = (options["methods"] ?? "full,crest,random").split(separator: ",").map(String.init)

var (train, labels) = readAll(trainPath, labels: nil)
if let limit = options["limit"].flatMap(Int.init), limit < train.count { train = Array(train.prefix(limit)) }
let test = readAll(testPath, labels: labels).records
let dimension = train.reduce(0) { max($0, $1.features.dimension) }
let classes = labels.classCount
let totalSteps = Int(epochs * Double(train.count) / Double(batch))
// Exponential decay to 5% of eta0 over the budget, the same clock (steps) for every method.
let schedule = LearningRateSchedule.exponential(eta0: eta, rate: 0.05, every: totalSteps)
FileHandle.standardError.write(Data("bench_mlp: \(train.count) train, \(test.count) test, d=\(dimension), K=\(classes), hidden \(hidden), B=\(batch), \(totalSteps) steps\n".utf8))

func evaluateRow(_ net: NeuralNetwork, method: String, round: Int, steps: Int, seconds: Double, selection: Double) {
    let s = net.evaluate(test)
    let line = json(["method": method, "round": round, "steps": steps, "seconds": seconds, "selection_seconds": selection,
                     "test_accuracy": s.accuracy, "test_loss": s.loss]) + "\n"
    FileHandle.standardOutput.write(Data(line.utf8))
}

for round in 0..<rounds {
    // Alternate the order between rounds so drift in the machine's load does not favour one method.
    let order = round % 2 == 0 ? methods : methods.reversed()
    for method in order {
        let net = NeuralNetwork(inputDimension: dimension, hidden: hidden, classCount: classes, seed: seed &+ UInt64(round))
        let optimizer = NetworkOptimizer(schedule: schedule, momentum: 0.9, l2: 1e-5)
        var seconds = 0.0
        evaluateRow(net, method: method, round: round, steps: 0, seconds: 0, selection: 0)
        switch method {
        case "full":
            var network = net, opt = optimizer
            var rng = SeededGenerator(seed: seed &+ 77 &+ UInt64(round))
            var order = Array(train.indices)
            var g = NeuralNetwork.Gradient(for: network)
            var work = NeuralNetwork.Workspace(for: network)
            var steps = 0, position = order.count
            while steps < totalSteps {
                let t0 = monotonicSeconds()
                for _ in 0..<min(evalEvery, totalSteps - steps) {
                    if position + batch > order.count { order.shuffle(using: &rng); position = 0 }
                    g.reset(for: network)
                    for i in order[position..<(position + batch)] { network.accumulateGradient(train[i], into: &g, work: &work) }
                    position += batch
                    opt.step(&network, gradient: g)
                    steps += 1
                }
                seconds += monotonicSeconds() - t0
                evaluateRow(network, method: method, round: round, steps: steps, seconds: seconds, selection: 0)
            }
        case "crest", "crest-drop", "random":
            var config = CrestConfiguration()
            config.batches = method == "random" ? .random : .coreset
            config.batchSize = batch
            config.subsetSize = Int(opt("subset-size", 512))
            config.subsetCount = Int(opt("subsets", 8))
            config.lossGapThreshold = opt("threshold", 0.1)
            config.dropLearned = method == "crest-drop"
            config.seed = seed &+ 99 &+ UInt64(round)
            var trainer = CrestTrainer(network: net, optimizer: optimizer, configuration: config)
            var steps = 0
            while steps < totalSteps {
                let n = min(evalEvery, totalSteps - steps)
                let t0 = monotonicSeconds()
                trainer.train(steps: n, pool: train)
                seconds += monotonicSeconds() - t0
                steps += n
                evaluateRow(trainer.network, method: method, round: round, steps: steps, seconds: seconds,
                            selection: trainer.statistics.selectionSeconds + trainer.statistics.checkSeconds)
            }
            FileHandle.standardError.write(Data("bench_mlp: \(method) round \(round): \(trainer.statistics.selections) selections, \(trainer.statistics.checks) checks, selection \(trainer.statistics.selectionSeconds) s, checks \(trainer.statistics.checkSeconds) s, dropped \(trainer.statistics.droppedRecords)\n".utf8))
        default:
            fatalError("unknown method \(method)")
        }
    }
}
