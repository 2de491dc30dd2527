/// The shape of a network setting in `coreset train`: what `--model mlp:H`, `--batch-size` and
/// `--momentum` give. The step schedule and l2 come from the setting's `LearnerConfiguration`, as a
/// linear setting's do, so `--eta0`, `--l2` and `--schedule` mean the same for both.
public struct NetworkShape: Sendable, Hashable {
    /// Hidden layer widths, e.g. [128] or [256, 128].
    public var hidden: [Int]
    /// Records per mini-batch step.
    public var batchSize: Int
    /// Heavy-ball momentum of `NetworkOptimizer`.
    public var momentum: Double

    /// The step size when --eta0 is not given: `run --model mlp`'s (`NetworkRunConfiguration.eta0`).
    public static let defaultEta0 = NetworkRunConfiguration(hidden: [1]).eta0

    public init(hidden: [Int], batchSize: Int = 128, momentum: Double = 0.9) {
        self.hidden = hidden
        self.batchSize = batchSize
        self.momentum = momentum
    }

    /// `mlp:128` or `mlp:256,128`, the form `--model` takes.
    public var name: String { "mlp:" + hidden.map(String.init).joined(separator: ",") }

    /// Mini-batch steps in `epochs` passes over `count` records (the last batch of a pass may be short).
    public func totalSteps(records count: Int, epochs: Int) -> Int {
        max(1, epochs * max(1, (count + batchSize - 1) / batchSize))
    }
}

/// A network and its optimizer after training: what a network model file holds.
public struct TrainedNetwork: Sendable {
    public var network: NeuralNetwork
    public var optimizer: NetworkOptimizer
    public var shape: NetworkShape

    /// The model file `run --model mlp` writes (its CREST part records the batch size; the rest is
    /// CREST's defaults, unused by `train`).
    public var modelFile: NetworkModelFile {
        var crest = CrestConfiguration()
        crest.batchSize = shape.batchSize
        return NetworkModelFile(network: network, optimizer: optimizer, crest: crest)
    }
}

/// `coreset train --model mlp:H`: several shuffled passes of weighted mini-batch SGD with momentum
/// (`NetworkOptimizer`) over records held in memory. A record's weight multiplies its gradient and
/// each step divides by the mini-batch's weight sum (the weighted mean loss), so a record of weight 3
/// counts as three copies of it in its batch, and scaling all weights changes nothing.
public struct NetworkEpochTrainer {
    public var records: [Record]
    /// Output units (at least 2, and at least the largest class id in `records` plus one).
    public var classCount: Int
    /// Input features (the largest dimension in `records`, at least 1).
    public var inputDimension: Int

    public init(records: [Record], classCount: Int = 2) {
        self.records = records
        self.classCount = max(2, classCount, (records.map(\.classIndex).max() ?? 0) + 1)
        inputDimension = records.reduce(1) { max($0, $1.features.dimension) }
    }

    /// What a finished (or interrupted) training gives.
    public struct Outcome: Sendable {
        public var trained: TrainedNetwork
        /// Epochs completed; an interrupted epoch is not counted.
        public var epochsCompleted: Int
        /// Progressive validation over the first epoch (each record scored at its batch's forward
        /// pass, before the batch's step).
        public var firstEpochProgressive: ProgressiveValidation
        /// True when `Interruption` stopped training before the last epoch ended.
        public var interrupted: Bool
    }

    /// A network initialised from `seed` and an optimizer with `configuration`'s schedule and l2.
    public func start(_ shape: NetworkShape, configuration: LearnerConfiguration, seed: UInt64) -> TrainedNetwork {
        TrainedNetwork(network: NeuralNetwork(inputDimension: inputDimension, hidden: shape.hidden, classCount: classCount, seed: seed),
                       optimizer: NetworkOptimizer(schedule: configuration.schedule, momentum: shape.momentum, l2: configuration.l2),
                       shape: shape)
    }

    /// Trains a new network (initialised and shuffled from `seed`, the same network as `start` gives) for `epochs` passes, calling
    /// `afterEpoch` with the epoch, its weighted average training loss (each record's loss at its
    /// batch's forward pass) and the network after every epoch (an interrupted one too). Stops within
    /// one mini-batch of `Interruption`.
    /// - Complexity: O(epochs · n · (nnz · h₁ + Σ hₗ hₗ₊₁)) time; memory for the network, its
    ///   gradient and momentum (3 × parameters) and the order (n).
    public func train(
        _ shape: NetworkShape, configuration: LearnerConfiguration, epochs: Int, seed: UInt64,
        afterEpoch: (_ epoch: Int, _ averageLoss: Double, _ trained: TrainedNetwork) throws -> Void
    ) rethrows -> Outcome {
        var trained = start(shape, configuration: configuration, seed: seed)
        // Its own stream: the initialisation draws from `seed` itself.
        var rng = SeededGenerator(seed: seed ^ 0x5_4FF1E)
        var order = Array(records.indices)
        var progressive = ProgressiveValidation()
        var gradient = NeuralNetwork.Gradient(for: trained.network)
        var work = NeuralNetwork.BatchWorkspace()
        let batchSize = max(1, shape.batchSize)
        var completed = 0
        var interrupted = false
        for epoch in 1...max(epochs, 1) {
            order.shuffle(using: &rng)
            var epochLoss = WeightedMean()
            var from = 0
            while from < order.count {
                let to = min(from + batchSize, order.count)
                gradient.reset(for: trained.network)
                let batch = order[from..<to].map { records[$0] }
                trained.network.accumulateGradients(batch, into: &gradient, work: &work)
                for (row, record) in batch.enumerated() {
                    let loss = work.losses[row]
                    epochLoss.update(loss, weight: record.weight)
                    if epoch == 1 {
                        let p = Array(work.probabilities(ofRow: row))
                        progressive.update(Scored(loss: loss, prediction: Double(NeuralNetwork.argmax(p)), score: Double(p[min(1, p.count - 1)])),
                                           label: record.label, weight: record.weight)
                    }
                }
                trained.optimizer.step(&trained.network, gradient: gradient)
                from = to
                if Interruption.requested {
                    interrupted = from < order.count || epoch < epochs
                    break
                }
            }
            if !interrupted { completed = epoch }
            try afterEpoch(epoch, epochLoss.value, trained)
            if interrupted || Interruption.requested { break }
        }
        return Outcome(trained: trained, epochsCompleted: completed, firstEpochProgressive: progressive, interrupted: interrupted)
    }

    /// `train` without a report after each epoch.
    public func train(_ shape: NetworkShape, configuration: LearnerConfiguration, epochs: Int, seed: UInt64) -> Outcome {
        train(shape, configuration: configuration, epochs: epochs, seed: seed) { _, _, _ in }
    }
}
