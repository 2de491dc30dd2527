/// The versioned JSON form of a neural learner: the network, the optimizer's state (so training can
/// resume with its momentum and schedule clock) and the CREST settings it was trained with.
///
/// Weights keep the network's layouts: layer 0 input-major (`[feature * width + unit]`), later
/// layers output-major (`[unit * fanIn + input]`).
public struct NetworkModelFile: Codable, Sendable, Hashable {
    public static let formatName = "coreset-mlp-model"
    public static let currentVersion = 1

    public var format: String
    public var formatVersion: Int
    /// `[inputDimension, hidden..., classCount]`.
    public var layerSizes: [Int]
    public var weights: [[Float]]
    public var biases: [[Float]]
    public var schedule: LearningRateSchedule
    public var momentum: Double
    public var l2: Double
    public var stepCount: Int
    public var scheduleStart: Int
    public var velocityWeights: [[Float]]
    public var velocityBiases: [[Float]]
    public var crest: CrestConfiguration

    public init(network: NeuralNetwork, optimizer: NetworkOptimizer, crest: CrestConfiguration) {
        format = Self.formatName
        formatVersion = Self.currentVersion
        layerSizes = network.layerSizes
        weights = network.weights
        biases = network.biases
        schedule = optimizer.schedule
        momentum = optimizer.momentum
        l2 = optimizer.l2
        stepCount = optimizer.stepCount
        scheduleStart = optimizer.scheduleStart
        velocityWeights = optimizer.velocityWeights
        velocityBiases = optimizer.velocityBiases
        self.crest = crest
    }

    /// The network, checked for consistent shapes and finite parameters.
    /// - Throws: `ModelFileError` for another format or version or inconsistent fields.
    public func network() throws(ModelFileError) -> NeuralNetwork {
        guard format == Self.formatName else { throw .wrongFormat(found: format) }
        guard formatVersion == Self.currentVersion else {
            throw .unsupportedVersion(found: formatVersion, supported: Self.currentVersion)
        }
        return try NeuralNetwork(layerSizes: layerSizes, weights: weights, biases: biases)
    }

    /// The optimizer with its momentum buffers and clock (velocities of the wrong shape are dropped).
    public func optimizer() -> NetworkOptimizer {
        var o = NetworkOptimizer(schedule: schedule, momentum: momentum, l2: l2)
        o.stepCount = stepCount
        o.scheduleStart = scheduleStart
        if velocityWeights.map(\.count) == weights.map(\.count) && velocityBiases.map(\.count) == biases.map(\.count) {
            o.velocityWeights = velocityWeights
            o.velocityBiases = velocityBiases
        }
        return o
    }
}

/// A trained model read from a file: a linear learner or a neural network, behind the calls
/// `predict` and `eval` need.
public enum TrainedModel: Sendable {
    case linear(Learner)
    case network(NeuralNetwork)

    public var isRegression: Bool {
        if case .linear(let l) = self { return l.configuration.task == .regression }
        return false
    }

    /// The predicted class id (or value, for regression).
    public func predict(_ x: FeatureVector) -> Double {
        switch self {
        case .linear(let l): return l.predict(x)
        case .network(let n): return Double(n.predictedClass(x))
        }
    }

    /// Class probabilities.
    public func probabilities(_ x: FeatureVector) -> [Double] {
        switch self {
        case .linear(let l): return l.probabilities(x)
        case .network(let n): return n.probabilities(x).map(Double.init)
        }
    }

    /// The predicted class id and the class probabilities of each record, in order: `predict` and
    /// `probabilities` of each, with a network's records run through it as mini-batches (the same bits).
    public func classifications(_ records: [Record]) -> [(prediction: Double, probabilities: [Double])] {
        switch self {
        case .linear(let l):
            return records.map { (l.predict($0.features), l.probabilities($0.features)) }
        case .network(let n):
            var out: [(prediction: Double, probabilities: [Double])] = []
            out.reserveCapacity(records.count)
            n.forEachBatch(of: records) { batch, work in
                for row in batch.indices {
                    let p = Array(work.probabilities(ofRow: row))
                    out.append((Double(NeuralNetwork.argmax(p)), p.map(Double.init)))
                }
            }
            return out
        }
    }

    public func evaluate(_ records: [Record]) -> EvaluationSummary {
        switch self {
        case .linear(let l): return l.evaluate(records)
        case .network(let n): return n.evaluate(records)
        }
    }
}
