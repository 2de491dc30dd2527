import ArgumentParser
import CoresetKit

extension Loss: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension RunConfiguration.Mode: ExpressibleByArgument {}
extension RunConfiguration.Memory: ExpressibleByArgument {}
extension ReplayDraw: ExpressibleByArgument {}

/// The learner's options, shared by `run` and `train`.
struct LearnerOptions: ParsableArguments {
    @Option(name: .long, help: "Loss: logistic (binary), softmax (multiclass), squared (regression), hinge (binary). Default: by task.")
    var loss: Loss?

    @Option(name: .long, help: "Optimizer: sgd, saga or svrg (SAGA/SVRG run over the replay memory).")
    var optimizer: OptimizerKind = .sgd

    @Option(name: .long, help: "L2 regularisation strength lambda (in lambda/2 |w|^2).")
    var l2: Double = 1e-5

    @Option(name: .long, help: "Initial step size (default: SGD 0.2 scaled by sqrt(9.7 / (mean |x|^2 + 1)), capped at 0.2; SAGA/SVRG 0.1).")
    var eta0: Double?

    @Option(name: .long, help: "Step schedule: constant, invscaling (eta0/(1+decay t)^power) or exponential (eta0 * decay^(t/every)).")
    var schedule: String?

    @Option(name: .long, help: "Schedule decay (invscaling: per step; exponential: the factor per --decay-every steps).")
    var decay: Double?

    @Option(name: .long, help: "invscaling power.")
    var power: Double = 0.5

    @Option(name: .long, help: "exponential: steps per decay factor.")
    var decayEvery: Int = 10_000

    @Option(name: .long, help: "Seed for replay sampling and shuffling.")
    var learnerSeed: UInt64 = 0x5EED

    func validate() throws {
        if let s = schedule, !["constant", "invscaling", "exponential"].contains(s) {
            throw ValidationError("--schedule must be constant, invscaling or exponential")
        }
        if l2 < 0 { throw ValidationError("--l2 must be non-negative") }
        if let e = eta0, !(e > 0) { throw ValidationError("--eta0 must be positive") }
    }

    func configuration(task: TaskKind, meanSquaredNorm: Double, totalSteps: Int? = nil) -> LearnerConfiguration {
        let base = LearnerConfiguration(task: task, loss: loss, l2: l2, optimizer: optimizer, seed: learnerSeed)
        var sched = base.schedule
        let scaledDefault = optimizer == .sgd ? defaultStepSize(meanSquaredNorm: meanSquaredNorm) : sched.initialRate
        let e0 = eta0 ?? scaledDefault
        switch schedule {
        case "constant": sched = .constant(eta0: e0)
        case "invscaling": sched = .inverseScaling(eta0: e0, decay: decay ?? 1e-3, power: power)
        case "exponential": sched = .exponential(eta0: e0, rate: decay ?? 0.5, every: decayEvery)
        default:
            if let totalSteps {
                // `train`: decay fully (to 1% of eta0) over the whole run, the honest baseline.
                sched = .exponential(eta0: e0, rate: 0.01, every: max(totalSteps, 1))
            } else if optimizer == .sgd {
                sched = .inverseScaling(eta0: e0, decay: 1e-3, power: 0.5)
            } else if eta0 != nil {
                sched = .constant(eta0: e0)
            }
        }
        return LearnerConfiguration(task: task, loss: loss, l2: l2, schedule: sched, optimizer: optimizer, seed: learnerSeed)
    }
}

/// Prints evaluation metrics as `name<TAB>value` lines.
func metricLines(prefix: String, _ s: EvaluationSummary) -> [String] {
    var lines = ["\(prefix)_records\t\(s.count)", "\(prefix)_loss\t\(formatFixed(s.loss, 6))"]
    if !s.accuracy.isNaN { lines.append("\(prefix)_accuracy\t\(formatFixed(s.accuracy, 6))") }
    if !s.logLoss.isNaN && abs(s.logLoss - s.loss) > 1e-9 { lines.append("\(prefix)_log_loss\t\(formatFixed(s.logLoss, 6))") }
    if !s.auc.isNaN { lines.append("\(prefix)_auc\t\(formatFixed(s.auc, 6))") }
    if !s.squaredError.isNaN && abs(s.squaredError - s.loss) > 1e-9 { lines.append("\(prefix)_squared_error\t\(formatFixed(s.squaredError, 6))") }
    return lines
}
