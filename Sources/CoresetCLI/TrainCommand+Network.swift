import ArgumentParser
import CoresetKit

/// A model `train --model` names: the linear learner or a network with these hidden widths.
enum TrainModel: Hashable {
    case linear
    case mlp([Int])

    var name: String {
        switch self {
        case .linear: return "linear"
        case .mlp(let hidden): return "mlp:" + hidden.map(String.init).joined(separator: ",")
        }
    }
}

/// Parses `--model`'s value: one model or several joined by `|` (`mlp:32|mlp:64`); the comma
/// separates a network's layer widths, so it cannot separate models.
func parseModelList(_ text: String) throws -> [TrainModel] {
    var models: [TrainModel] = []
    for (n, part) in text.split(separator: "|", omittingEmptySubsequences: false).enumerated() {
        let item = String(part.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        guard !item.isEmpty else { throw ValidationError("--model: model \(n + 1) of '\(text)' is empty") }
        if item == "linear" {
            models.append(.linear)
        } else if let hidden = NetworkRunConfiguration.hiddenLayers(model: item) {
            models.append(.mlp(hidden))
        } else {
            throw ValidationError("--model: '\(item)' (model \(n + 1) of '\(text)') must be linear or mlp:HIDDEN with one or more widths from 1 to 65536, e.g. mlp:128 or mlp:256,128 (list models with |: mlp:32|mlp:64)")
        }
    }
    return models
}

/// A model trained by `train`: what the summary, `--test` and `--model-out` need of it.
extension TrainCommand {
    /// `train --model mlp:H` with one setting: the network's epochs over the records, a line per epoch.
    func trainNetwork(_ shape: NetworkShape, records: [Record], reader: RecordReader, task: TaskKind, holdoutRecords: [Record],
                      log: ProgressLog?, start: Double) throws {
        let epochs = epochValues[0]
        let configuration = setting(choices[0], task: task, records: records, meanSquaredNorm: EpochTrainer.meanSquaredNorm(records)).configuration
        let trainer = NetworkEpochTrainer(records: records, classCount: reader.labels.classCount)
        let outcome = try trainer.train(shape, configuration: configuration, epochs: epochs, seed: learnerOptions.learnerSeed) { epoch, averageLoss, trained in
            guard !quiet || log != nil else { return }
            var line = "epoch \(epoch)/\(epochs): average loss \(formatFixed(averageLoss, 6)), \(records.count) records, \(formatFixed(monotonicSeconds() - start, 2)) s"
            var row = [("epoch", "\(epoch)"), ("records", "\(records.count)"), ("seconds", formatFixed(monotonicSeconds() - start, 3)),
                       ("average_loss", formatFixed(averageLoss, 6))]
            if !holdoutRecords.isEmpty {
                let h = trained.network.evaluate(holdoutRecords)
                line += ", holdout loss \(formatFixed(h.loss, 6)), accuracy \(formatFixed(h.accuracy, 4))"
                row += [("holdout_loss", formatFixed(h.loss, 6)), ("holdout_accuracy", formatFixed(h.accuracy, 4))]
            }
            if InputSize.stderrIsTerminal { line += InputSize.bar(fraction: Double(epoch) / Double(epochs), elapsed: monotonicSeconds() - start) }
            if !quiet { writeDiagnostic(line) }
            try log?.write(row)
        }
        let learner = TrainedLearner.network(outcome.trained)
        var lines = [
            "records_accepted\t\(reader.statistics.recordsAccepted)",
            "records_skipped\t\(reader.statistics.recordsSkipped)",
            "task\t\(task.rawValue)",
            "model\t\(shape.name)",
            "epochs\t\(epochs)",
            "learner_steps\t\(learner.stepCount)",
            "first_epoch_progressive_loss\t\(formatFixed(outcome.firstEpochProgressive.total.value, 6))",
            "seconds\t\(formatFixed(monotonicSeconds() - start, 3))",
        ]
        if outcome.interrupted { writeDiagnostic("train: interrupted after \(outcome.epochsCompleted) of \(epochs) epochs") }
        if let test, !Interruption.requested {
            let loaded = try loadRecords(path: test, options: input.readerOptions, labels: reader.labels) { writeDiagnostic($0) }
            lines.append(contentsOf: metricLines(prefix: "test", learner.evaluate(loaded.records)))
        }
        if let modelOut {
            try learner.bundle(labels: reader.labels, featureNames: reader.context.featureNames,
                               recordsSeen: reader.statistics.recordsAccepted).write(to: modelOut)
        }
        let out = TextOutput(descriptor: 1)
        try out.write(renderSummary(lines, json: machine.json))
        try out.flush()
    }
}
