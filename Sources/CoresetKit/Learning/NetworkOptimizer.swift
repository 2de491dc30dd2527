/// Weighted mini-batch SGD with (heavy-ball) momentum for `NeuralNetwork`:
/// v ← μ v + (∇ data loss + λ W), W ← W − η v, on the weighted mean loss of each mini-batch.
public struct NetworkOptimizer: Sendable {
    public var momentum: Double
    public var l2: Double
    public var schedule: LearningRateSchedule
    /// Mini-batch steps taken (the schedule's clock).
    public var stepCount: Int = 0
    /// The schedule reads its clock as `stepCount - scheduleStart`, so a new phase (e.g. the final
    /// epochs after a stream) can start a schedule from its beginning.
    public var scheduleStart: Int = 0
    var velocityWeights: [[Float]] = []
    var velocityBiases: [[Float]] = []

    public init(schedule: LearningRateSchedule, momentum: Double = 0.9, l2: Double = 5e-5) {
        self.schedule = schedule
        self.momentum = momentum
        self.l2 = l2
    }

    /// Starts `newSchedule` from its first step at the next step.
    public mutating func restartSchedule(_ newSchedule: LearningRateSchedule) {
        schedule = newSchedule
        scheduleStart = stepCount
    }

    /// One step from an accumulated (unnormalised) gradient; the gradient is divided by its weight sum.
    /// - Complexity: O(parameters).
    public mutating func step(_ network: inout NeuralNetwork, gradient g: NeuralNetwork.Gradient) {
        guard g.weightSum > 0 else { return }
        if velocityWeights.count != network.weights.count
            || zip(velocityWeights, network.weights).contains(where: { $0.count != $1.count }) {
            growVelocity(to: network)
        }
        let eta = Float(schedule.rate(at: max(stepCount - scheduleStart, 0)))
        let mu = Float(momentum), lambda = Float(l2)
        let scale = Float(1 / g.weightSum)
        for l in 0..<network.weights.count {
            Self.update(&network.weights[l], velocity: &velocityWeights[l], gradient: g.weights[l],
                        scale: scale, decay: lambda, momentum: mu, eta: eta)
            Self.update(&network.biases[l], velocity: &velocityBiases[l], gradient: g.biases[l],
                        scale: scale, decay: 0, momentum: mu, eta: eta)
        }
        stepCount += 1
    }

    /// Keeps velocities of existing parameters when the network grew (new features or classes).
    mutating func growVelocity(to network: NeuralNetwork) {
        func grown(_ old: [[Float]], _ shapes: [[Float]]) -> [[Float]] {
            shapes.indices.map { l in
                let n = shapes[l].count
                guard l < old.count, old[l].count <= n else { return [Float](repeating: 0, count: n) }
                return old[l] + [Float](repeating: 0, count: n - old[l].count)
            }
        }
        // The output layer grows by whole units (rows), layer 0 by whole feature rows: appending
        // zeros lines the old velocities up with their parameters in both cases.
        velocityWeights = grown(velocityWeights, network.weights)
        velocityBiases = grown(velocityBiases, network.biases)
    }

    static func update(_ w: inout [Float], velocity v: inout [Float], gradient g: [Float],
                       scale: Float, decay: Float, momentum mu: Float, eta: Float) {
        let n = w.count
        w.withUnsafeMutableBufferPointer { wp in
            v.withUnsafeMutableBufferPointer { vp in
                g.withUnsafeBufferPointer { gp in
                    let rw = UnsafeMutableRawPointer(wp.baseAddress!), rv = UnsafeMutableRawPointer(vp.baseAddress!)
                    let rg = UnsafeRawPointer(gp.baseAddress!)
                    let sv = SIMD8<Float>(repeating: scale), dv = SIMD8<Float>(repeating: decay)
                    let mv = SIMD8<Float>(repeating: mu), ev = SIMD8<Float>(repeating: eta)
                    var i = 0
                    while i + 8 <= n {
                        let o = i * 4
                        let wi = rw.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        let gi = rg.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * sv + dv * wi
                        let vi = mv * rv.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) + gi
                        rv.storeBytes(of: vi, toByteOffset: o, as: SIMD8<Float>.self)
                        rw.storeBytes(of: wi - ev * vi, toByteOffset: o, as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < n {
                        let gi = gp[i] * scale + decay * wp[i]
                        vp[i] = mu * vp[i] + gi
                        wp[i] -= eta * vp[i]
                        i += 1
                    }
                }
            }
        }
    }
}
