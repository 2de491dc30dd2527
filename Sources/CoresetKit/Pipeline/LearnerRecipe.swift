/// The learner a command asks for, before the stream shows its task and scale: `configuration(task:meanSquaredNorm:)`
/// turns it into a `LearnerConfiguration` once the first batch is read (the default SGD step is scaled by the rows'
/// mean squared norm). Options left nil take the task's and the loss's defaults.
public struct LearnerRecipe: Sendable {
    /// The step schedule; nil in `schedule` is the default (see `configuration`).
    public enum Schedule: String, Sendable {
        /// eta0 throughout.
        case constant
        /// eta0 / (1 + decay t)^power.
        case invscaling
        /// eta0 * decay^(t / decayEvery).
        case exponential
    }

    public var loss: Loss?
    public var l2: Double
    public var eta0: Double?
    public var optimizer: OptimizerKind
    public var schedule: Schedule?
    public var decay: Double?
    public var power: Double
    public var decayEvery: Int
    public var seed: UInt64

    public init(loss: Loss?, l2: Double, eta0: Double?, optimizer: OptimizerKind, schedule: Schedule?, decay: Double?,
                power: Double, decayEvery: Int, seed: UInt64) {
        self.loss = loss
        self.l2 = l2
        self.eta0 = eta0
        self.optimizer = optimizer
        self.schedule = schedule
        self.decay = decay
        self.power = power
        self.decayEvery = decayEvery
        self.seed = seed
    }

    /// The learner for `task` on rows of this mean squared norm. Without a schedule: with `totalSteps`
    /// (`train`) the step decays fully, to 1% of eta0, over the whole run; otherwise SGD's step decays as
    /// 1/sqrt(t), and SAGA/SVRG keep theirs (constant at an explicit eta0).
    public func configuration(task: TaskKind, meanSquaredNorm: Double, totalSteps: Int? = nil) -> LearnerConfiguration {
        let base = LearnerConfiguration(task: task, loss: loss, l2: l2, optimizer: optimizer, seed: seed)
        var sched = base.schedule
        let scaledDefault = optimizer == .sgd
            ? defaultStepSize(meanSquaredNorm: meanSquaredNorm) * base.loss.function.defaultStepScale : sched.initialRate
        let e0 = eta0 ?? scaledDefault
        switch schedule {
        case .constant: sched = .constant(eta0: e0)
        case .invscaling: sched = .inverseScaling(eta0: e0, decay: decay ?? 1e-3, power: power)
        case .exponential: sched = .exponential(eta0: e0, rate: decay ?? 0.5, every: decayEvery)
        case nil:
            if let totalSteps {
                // `train`: decay fully (to 1% of eta0) over the whole run, the honest baseline.
                sched = .exponential(eta0: e0, rate: 0.01, every: max(totalSteps, 1))
            } else if optimizer == .sgd {
                sched = .inverseScaling(eta0: e0, decay: 1e-3, power: 0.5)
            } else if eta0 != nil {
                sched = .constant(eta0: e0)
            }
        }
        return LearnerConfiguration(task: task, loss: loss, l2: l2, schedule: sched, optimizer: optimizer, seed: seed)
    }
}
