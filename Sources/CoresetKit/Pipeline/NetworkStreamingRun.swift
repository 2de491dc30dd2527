#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `coreset run --model mlp:...` does with the stream.
public struct NetworkRunConfiguration: Sendable {
    /// Hidden layer widths, e.g. [128] or [256, 128].
    public var hidden: [Int]
    public var crest = CrestConfiguration()
    /// Records held in memory: the pool CREST's random subsets are drawn from.
    public var bufferSize = 20_000
    /// Hold the last `bufferSize` records (drift) instead of a uniform reservoir of the whole stream.
    public var window = false
    /// Mini-batch steps earned by every B arriving records.
    public var stepsPerBatch = 1.0
    /// Passes (in mini-batch steps: passes · buffer / B) over the buffer after the stream ends, with
    /// the step size decayed exponentially to 5% of eta0 over them.
    public var finalEpochs = 5.0
    public var eta0 = 0.05
    public var momentum = 0.9
    public var l2 = 1e-5
    /// Seed of the network's initialisation and of the reservoir.
    public var seed: UInt64 = 1

    public init(hidden: [Int]) {
        self.hidden = hidden
    }

    /// Parses `mlp:128` or `mlp:256,128`.
    public static func hiddenLayers(model spec: String) -> [Int]? {
        guard spec.hasPrefix("mlp:") else { return nil }
        let parts = spec.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false)
        let widths = parts.compactMap { Int($0) }
        guard !widths.isEmpty, widths.count == parts.count, widths.allSatisfy({ $0 >= 1 && $0 <= 65_536 }) else { return nil }
        return widths
    }
}

/// A progress row of a network run.
public struct NetworkRunProgress: Sendable {
    /// Nil during the final epochs.
    public var row: ProgressiveValidation.Row?
    public var accuracy: Double
    /// Final epochs done (0 while streaming).
    public var epoch: Double
    public var holdout: EvaluationSummary?
    public var bytesOut: UInt64
    public var bufferCount: Int
    public var statistics: CrestTrainer.Statistics
    public var elapsed: Double
}

/// The outcome of a network run.
public struct NetworkRunResult: Sendable {
    /// Nil when the stream held no usable record.
    public var trainer: CrestTrainer?
    public var progressive: ProgressiveValidation
    public var statistics: IngestStatistics
    public var bufferCount: Int
    public var seconds: Double
    public var streamError: CoresetError?
}

/// Streams records into a bounded buffer and trains a neural network on mini-batches (`CrestTrainer`)
/// drawn from it, on one thread: each arriving record is scored first (progressive validation), every
/// B arrivals earn `stepsPerBatch` steps, and after the stream `finalEpochs` passes over the buffer.
public final class NetworkStreamingRun {
    public let configuration: NetworkRunConfiguration
    let reader: RecordReader
    let holdout: [Record]
    let onProgress: (NetworkRunProgress) -> Void
    /// A saved learner to continue (`--resume`); its shapes grow with the stream as needed.
    public var initialModel: NetworkModelFile?

    public init(reader: RecordReader, configuration: NetworkRunConfiguration, holdout: [Record] = [],
                onProgress: @escaping (NetworkRunProgress) -> Void = { _ in }) {
        self.reader = reader
        self.configuration = configuration
        self.holdout = holdout
        self.onProgress = onProgress
    }

    public func run() throws(CoresetError) -> NetworkRunResult {
        let start = monotonicSeconds()
        let c = configuration
        guard !reader.labels.isRegression else {
            throw .usage("--model mlp is for classification; the input was read as regression (--regression)")
        }
        var buffer: [Record] = []
        buffer.reserveCapacity(min(c.bufferSize, 1 << 20))
        var rng = SeededGenerator(seed: c.seed &+ 0x5EED)
        var seen = 0
        var trainer: CrestTrainer?
        var progressive = ProgressiveValidation()
        // Arrivals between two steps meet the same network: they are scored as one batch forward pass
        // (the same probabilities as one by one), rows `scoredFrom..<scoredTo` of the stream batch.
        var scoring = NeuralNetwork.BatchWorkspace()
        var scoredFrom = 0, scoredTo = 0
        var scoredRecords: [Record] = []
        var credit = 0.0
        let stepEvery = Double(c.crest.batchSize)
        // Classes known before any record is read (declared labels); the rest join as records show them, not as
        // the reader meets them ahead, so how the input is cut does not change the network.
        let declaredClasses = reader.labels.classCount

        func makeTrainer() {
            let dimension = buffer.reduce(1) { max($0, $1.features.dimension) }
            let classes = max(2, declaredClasses, buffer.reduce(0) { max($0, $1.classIndex + 1) })
            if let saved = initialModel, var net = try? saved.network() {
                net.ensureInputDimension(dimension)
                net.ensureClassCount(classes)
                var crest = c.crest
                crest.seed = saved.crest.seed &+ UInt64(saved.stepCount)
                trainer = CrestTrainer(network: net, optimizer: saved.optimizer(), configuration: crest)
            } else {
                let net = NeuralNetwork(inputDimension: dimension, hidden: c.hidden, classCount: classes, seed: c.seed)
                trainer = CrestTrainer(network: net, optimizer: NetworkOptimizer(schedule: .constant(eta0: c.eta0), momentum: c.momentum, l2: c.l2),
                                       configuration: c.crest)
            }
        }

        func report(row: ProgressiveValidation.Row?, epoch: Double) {
            onProgress(NetworkRunProgress(
                row: row, accuracy: progressive.accuracy, epoch: epoch,
                holdout: holdout.isEmpty ? nil : trainer.map { $0.network.evaluate(holdout) },
                bytesOut: reader.statistics.bytesOut, bufferCount: buffer.count,
                statistics: trainer?.statistics ?? CrestTrainer.Statistics(), elapsed: monotonicSeconds() - start))
        }

        // A resumed network predicts from the first record; a new one waits for a mini-batch of records.
        if initialModel != nil { makeTrainer() }

        /// Whether a record needs the network grown before it is scored.
        func outgrows(_ r: Record, _ network: NeuralNetwork) -> Bool {
            r.features.dimension > network.inputDimension || r.classIndex >= network.classCount
        }

        let streamError = StreamEngine().run(reader) { batch in
            scoredFrom = 0
            scoredTo = 0
            for i in 0..<batch.count {
                let r = i < scoredTo ? scoredRecords[i - scoredFrom] : batch[i]
                if trainer != nil {
                    if outgrows(r, trainer!.network) {
                        trainer!.network.ensureInputDimension(r.features.dimension)
                        trainer!.network.ensureClassCount(max(r.classIndex + 1, declaredClasses))
                    }
                    if i >= scoredTo {
                        // Score ahead up to the record after which the next step comes, or before the next record
                        // that grows the network, with the credit counted as the loop below counts it.
                        var end = i + 1, ahead = credit + c.stepsPerBatch / stepEvery
                        scoredRecords.removeAll(keepingCapacity: true)
                        scoredRecords.append(r)
                        while ahead < 1 && end < batch.count {
                            let next = batch[end]
                            if outgrows(next, trainer!.network) { break }
                            scoredRecords.append(next)
                            ahead += c.stepsPerBatch / stepEvery
                            end += 1
                        }
                        trainer!.network.forward(scoredRecords, into: &scoring)
                        scoredFrom = i
                        scoredTo = end
                    }
                    let p = Array(scoring.probabilities(ofRow: i - scoredFrom))
                    let scored = Scored(loss: NeuralNetwork.crossEntropy(p, label: r.classIndex),
                                        prediction: Double(NeuralNetwork.argmax(p)), score: Double(p[min(1, p.count - 1)]))
                    if let row = progressive.update(scored, label: r.label, weight: r.weight) { report(row: row, epoch: 0) }
                }
                // Uniform reservoir (Algorithm R) or sliding window.
                seen += 1
                if buffer.count < c.bufferSize {
                    buffer.append(r)
                } else if c.window {
                    buffer[(seen - 1) % c.bufferSize] = r
                } else {
                    let j = Int(rng.next() % UInt64(seen))
                    if j < c.bufferSize { buffer[j] = r }
                }
                if trainer == nil && buffer.count >= c.crest.batchSize { makeTrainer() }
                if trainer != nil {
                    credit += c.stepsPerBatch / stepEvery
                    if credit >= 1 {
                        let steps = Int(credit)
                        credit -= Double(steps)
                        trainer!.train(steps: steps, pool: buffer)
                    }
                }
            }
            return .whole
        }.streamError
        if trainer == nil && !buffer.isEmpty { makeTrainer() }
        if progressive.total.count > 0 { report(row: progressive.takeRow(), epoch: 0) }
        if var t = trainer, !buffer.isEmpty, c.finalEpochs > 0, !Interruption.requested {
            t.retainDrops(in: buffer)
            let perEpoch = max(1, Int((Double(buffer.count) / stepEvery).rounded(.up)))
            let total = max(1, Int((c.finalEpochs * Double(perEpoch)).rounded()))
            t.optimizer.restartSchedule(.exponential(eta0: c.eta0, rate: 0.05, every: total))
            var done = 0
            while done < total && !Interruption.requested {
                let n = min(perEpoch, total - done)
                t.train(steps: n, pool: buffer)
                done += n
                trainer = t
                report(row: nil, epoch: Double(done) / Double(perEpoch))
            }
            trainer = t
        }
        return NetworkRunResult(trainer: trainer, progressive: progressive, statistics: reader.statistics,
                                bufferCount: buffer.count, seconds: monotonicSeconds() - start, streamError: streamError)
    }
}
