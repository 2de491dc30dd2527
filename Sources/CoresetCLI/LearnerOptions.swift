import ArgumentParser
import CoresetKit

extension Loss: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension RunConfiguration.Mode: ExpressibleByArgument {}
extension RunConfiguration.Memory: ExpressibleByArgument {}
extension ReplayDraw: ExpressibleByArgument {}

/// The learner's options, shared by `run` and `train`.
struct LearnerOptions: ParsableArguments {
    @Option(name: .customLong("loss"), help: ArgumentHelp("Loss: \(lossList). Default: by task. train: a comma-separated list is a grid.", valueName: "loss"),
            transform: { try parseValueList($0, option: "--loss", expected: lossChoices) { Loss(rawValue: $0) } })
    var lossLists: [[Loss]] = []

    @Option(name: .long, help: "Optimizer: sgd, saga or svrg (SAGA/SVRG run over the replay memory).")
    var optimizer: OptimizerKind = .sgd

    @Option(name: .customLong("l2"), help: ArgumentHelp("L2 regularisation strength lambda (in lambda/2 |w|^2; default 1e-5). train: a comma-separated list is a grid (1e-6,1e-5,1e-4).", valueName: "l2"),
            transform: { try parseValueList($0, option: "--l2", expected: "a non-negative number") { Double($0).flatMap { $0 >= 0 && $0.isFinite ? $0 : nil } } })
    var l2Lists: [[Double]] = []

    @Option(name: .customLong("eta0"), help: ArgumentHelp("Initial step size (default: SGD 0.2 scaled by sqrt(9.7 / (mean |x|^2 + 1)), capped at 0.2; SAGA/SVRG 0.1). train: a comma-separated list is a grid.", valueName: "eta0"),
            transform: { try parseValueList($0, option: "--eta0", expected: "a positive number") { Double($0).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } } })
    var eta0Lists: [[Double]] = []

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
        try checkNoRepeats(lossValues.map(\.rawValue), option: "--loss")
        try checkNoRepeats(l2Values.map { "\($0)" }, option: "--l2")
        try checkNoRepeats(eta0Values.map { "\($0)" }, option: "--eta0")
    }

    /// The listed losses, l2 strengths and step sizes (repeating an option adds to its list).
    var lossValues: [Loss] { lossLists.flatMap { $0 } }
    var l2Values: [Double] { l2Lists.flatMap { $0 } }
    var eta0Values: [Double] { eta0Lists.flatMap { $0 } }

    /// The one value of each option (the first listed; commands other than train take one).
    var loss: Loss? { lossValues.first }
    var l2: Double { l2Values.first ?? 1e-5 }
    var eta0: Double? { eta0Values.first }

    /// Whether any option lists more than one value.
    var listsValues: Bool { lossValues.count > 1 || l2Values.count > 1 || eta0Values.count > 1 }

    /// For commands without a grid: a list is a usage error.
    func requireSingleValues(command: String) throws {
        if listsValues { throw ValidationError("\(command) takes one value for --loss, --l2 and --eta0; lists of values are a grid for `coreset train --holdout FILE`") }
    }

    /// The learner these options ask for; `loss`, `l2` and `eta0` override the options (nil: the options' own
    /// value or default), for one point of a grid.
    func recipe(loss: Loss?? = nil, l2: Double? = nil, eta0: Double?? = nil) -> LearnerRecipe {
        LearnerRecipe(loss: loss ?? self.loss, l2: l2 ?? self.l2, eta0: eta0 ?? self.eta0, optimizer: optimizer,
                      schedule: schedule.flatMap(LearnerRecipe.Schedule.init(rawValue:)), decay: decay, power: power,
                      decayEvery: decayEvery, seed: learnerSeed)
    }

    /// The learner for one point of a grid (see `recipe` and `LearnerRecipe.configuration`).
    func configuration(task: TaskKind, meanSquaredNorm: Double, totalSteps: Int? = nil,
                       loss: Loss?? = nil, l2: Double? = nil, eta0: Double?? = nil) -> LearnerConfiguration {
        recipe(loss: loss, l2: l2, eta0: eta0).configuration(task: task, meanSquaredNorm: meanSquaredNorm, totalSteps: totalSteps)
    }
}

/// The registered losses with their tasks, for --loss's help: "logistic (binary), softmax (multiclass), ...".
let lossList = Loss.registered.map { "\($0.rawValue) (\($0.task.rawValue))" }.joined(separator: ", ")
/// "logistic, softmax, ... or squared-hinge".
let lossChoices = Loss.names.dropLast().joined(separator: ", ") + " or " + Loss.names.last!

/// Prints evaluation metrics as `name<TAB>value` lines.
func metricLines(prefix: String, _ s: EvaluationSummary) -> [String] {
    var lines = ["\(prefix)_records\t\(s.count)", "\(prefix)_loss\t\(formatFixed(s.loss, 6))"]
    if !s.accuracy.isNaN { lines.append("\(prefix)_accuracy\t\(formatFixed(s.accuracy, 6))") }
    if !s.logLoss.isNaN && abs(s.logLoss - s.loss) > 1e-9 { lines.append("\(prefix)_log_loss\t\(formatFixed(s.logLoss, 6))") }
    if !s.auc.isNaN { lines.append("\(prefix)_auc\t\(formatFixed(s.auc, 6))") }
    if !s.squaredError.isNaN && abs(s.squaredError - s.loss) > 1e-9 { lines.append("\(prefix)_squared_error\t\(formatFixed(s.squaredError, 6))") }
    return lines
}

/// Parses a comma-separated list of values for `option` (`1e-6,1e-5`); an empty, unreadable or
/// repeated element is a usage error naming it.
func parseValueList<Value>(_ text: String, option: String, expected: String, _ parse: (String) -> Value?) throws -> [Value] {
    var values: [Value] = []
    for (n, part) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
        let item = String(part.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        guard !item.isEmpty else { throw ValidationError("\(option): value \(n + 1) of '\(text)' is empty") }
        guard let v = parse(item) else { throw ValidationError("\(option): '\(item)' (value \(n + 1) of '\(text)') must be \(expected)") }
        values.append(v)
    }
    return values
}

/// A value listed twice would train the same setting twice.
func checkNoRepeats(_ values: [String], option: String) throws {
    var seen = Set<String>()
    for v in values where !seen.insert(v).inserted { throw ValidationError("\(option) lists \(v) twice") }
}
