import ArgumentParser
import CoresetKit

/// `train` with a grid or `--refit`: trains every setting (HyperparameterSweep), keeps the best by
/// holdout score, optionally refits it on other files, and writes that model.
extension TrainCommand {
    /// A grid point as the user gave it: nil takes the option's default, worked out for the data
    /// it is trained on (the refit data may have another mean norm, hence another default eta0).
    struct Choice {
        var model: TrainModel
        var loss: Loss?
        var l2: Double
        var eta0: Double?
        var epochs: Int
    }

    /// The grid in table order: model, then loss (linear only), then epochs, then eta0, with l2 varying fastest.
    var choices: [Choice] {
        let losses: [Loss?] = learnerOptions.lossValues.isEmpty ? [nil] : learnerOptions.lossValues
        let l2s = learnerOptions.l2Values.isEmpty ? [learnerOptions.l2] : learnerOptions.l2Values
        let eta0s: [Double?] = learnerOptions.eta0Values.isEmpty ? [nil] : learnerOptions.eta0Values
        var grid: [Choice] = []
        for model in modelValues {
            // A network minimises cross-entropy whatever --loss lists (it applies to the linear model).
            for loss in model == .linear ? losses : [nil] {
                for epochs in epochValues {
                    for eta0 in eta0s {
                        for l2 in l2s { grid.append(Choice(model: model, loss: loss, l2: l2, eta0: eta0, epochs: epochs)) }
                    }
                }
            }
        }
        return grid
    }

    /// - Parameter l2Scale: the setting trains with its l2 times this (the listed l2 is kept for the table and the refit).
    /// A network's steps are mini-batches, and its default eta0 is `run --model mlp`'s.
    func setting(_ c: Choice, task: TaskKind, records: [Record], meanSquaredNorm: Double, l2Scale: Double = 1) -> SweepSetting {
        let shape = networkShape(c.model)
        return SweepSetting(configuration: learnerOptions.configuration(
            task: task, meanSquaredNorm: meanSquaredNorm,
            totalSteps: shape?.totalSteps(records: records.count, epochs: c.epochs) ?? c.epochs * records.count,
            loss: .some(shape == nil ? c.loss : nil), l2: c.l2 * l2Scale,
            eta0: .some(shape == nil ? c.eta0 : c.eta0 ?? NetworkShape.defaultEta0)), epochs: c.epochs, listedL2: c.l2, network: shape)
    }

    func sweep(records: [Record], reader: RecordReader, task: TaskKind, holdoutRecords: [Record], log: ProgressLog?, start: Double,
               refitLoading: BackgroundWork<(records: [Record], reader: RecordReader)>? = nil) throws {
        let grid = choices
        // The refit data is read first (or was, beside the input): its size sets the subset's l2 scale.
        let refitData = refit.isEmpty ? nil : try refitLoading?.wait() ?? loadRefit()
        if Interruption.requested {
            writeDiagnostic("train: interrupted before any setting finished: no model written")
            return
        }
        let meanSquaredNorm = EpochTrainer.meanSquaredNorm(records)
        let l2Scale = refitData.map { !noL2Scaling && !records.isEmpty ? Double($0.records.count) / Double(records.count) : 1 } ?? 1
        let settings = grid.map { setting($0, task: task, records: records, meanSquaredNorm: meanSquaredNorm, l2Scale: l2Scale) }
        let weightScale = refit.isEmpty ? 1 : EpochTrainer.meanOneScale(records)
        let sweep = HyperparameterSweep(settings: settings, trainer: EpochTrainer(records: records, weightScale: weightScale),
                                        holdout: holdoutRecords, seed: learnerOptions.learnerSeed, classCount: reader.labels.classCount)
        let ranking = !sweep.mixesLosses ? (sweep.mixesModels ? "holdout log-loss" : "holdout loss")
            : task == .regression ? "holdout squared error (the grid mixes losses)" : "holdout error rate (the grid mixes losses)"
        if !quiet {
            writeDiagnostic("train: \(settings.count) settings on \(records.count) records"
                            + (weightScale != 1 ? " (weights scaled by \(formatFixed(weightScale, 6)) to mean 1)" : "")
                            + (l2Scale != 1 ? ", l2 trained at \(formatFixed(l2Scale, 3))x the listed value (refit records / input records)" : "")
                            + (holdoutRecords.isEmpty ? "" : ", ranked by \(ranking) on \(holdoutRecords.count) records"))
            writeDiagnostic(SweepTable.header(models: hasNetwork))
        }
        let outcome = try sweep.run(clock: monotonicSeconds) { row in
            if !quiet { writeDiagnostic(SweepTable.line(row, of: settings.count, models: hasNetwork)) }
            try log?.write(SweepTable.fields(row, models: hasNetwork) + [("elapsed_seconds", formatFixed(monotonicSeconds() - start, 3))])
        }
        if let sweepOut {
            let file = try AtomicFile(path: sweepOut)
            try file.writing { out in
                try out.write(SweepTable.tsvHeader(models: hasNetwork) + "\n")
                for (i, row) in outcome.rows.enumerated() { try out.write(SweepTable.tsv(row, chosen: i == outcome.bestRow, models: hasNetwork) + "\n") }
            }
            try file.commit()
        }
        let bestModel = outcome.bestLearner.map(TrainedLearner.linear) ?? outcome.bestNetwork.map(TrainedLearner.network)
        guard let bestRow = outcome.bestRow, var learner = bestModel else {
            writeDiagnostic("train: interrupted before any setting finished: no model written")
            return
        }
        // The model trained on the input: what is written when the refit does not finish.
        let subsetBest = outcome.rows[bestRow]
        var best = subsetBest
        var halvingLines: [String] = []
        if halvingStageRuns, let (refitRecords, refitReader) = refitData, !outcome.interrupted {
            let second = try halvingStage(outcome.rows, grid: grid, refitRecords: refitRecords, refitLabels: refitReader.labels,
                                          inputCount: records.count, log: log, start: start)
            if let (row, stageLines) = second {
                halvingLines = stageLines
                if let row { best = row }
            }
        }
        if Interruption.requested && !outcome.interrupted {
            writeDiagnostic("train: interrupted while retraining the best settings on a sample; the model written is setting \(subsetBest.index + 1) trained on the input, not refitted")
        } else if outcome.interrupted {
            writeDiagnostic("train: interrupted after \(outcome.rows.count) of \(settings.count) settings; the best of those is setting \(best.index + 1)"
                            + (modelOut != nil ? ", written to \(modelOut!)" : "") + (refit.isEmpty ? "" : " (trained on the input, not refitted)"))
        } else if !quiet {
            writeDiagnostic("train: chose setting \(best.index + 1): " + SweepTable.describe(best.setting, models: hasNetwork)
                            + (best.score.isNaN ? "" : ", \(ranking) \(formatFixed(best.score, 6))"))
        }
        var lines = [
            "records_accepted\t\(reader.statistics.recordsAccepted)",
            "records_skipped\t\(reader.statistics.recordsSkipped)",
            "task\t\(task.rawValue)",
            "settings\t\(settings.count)",
            "settings_finished\t\(outcome.rows.count)",
            "chosen_setting\t\(best.index + 1)",
        ] + (hasNetwork ? ["chosen_model\t\(best.setting.modelName)"] : []) + [
            "chosen_loss\t\(best.setting.loss.rawValue)",
            "chosen_l2\t\(CoresetWriter.number(best.setting.l2))",
            "chosen_eta0\t\(CoresetWriter.number(best.setting.eta0))",
            "chosen_epochs\t\(best.setting.epochs)",
        ]
        if !holdoutRecords.isEmpty { lines.append(contentsOf: metricLines(prefix: "chosen_holdout", best.holdout)) }
        lines.append(contentsOf: halvingLines)
        lines.append("sweep_seconds\t\(formatFixed(monotonicSeconds() - start, 3))")
        var modelLabels = reader.labels
        var featureNames = reader.context.featureNames
        var recordsSeen = reader.statistics.recordsAccepted
        var progressive = outcome.bestProgressive ?? ProgressiveValidation()
        if refitData != nil { lines.append("l2_scale\t\(formatFixed(l2Scale, 6))") }
        if let (refitRecords, refitReader) = refitData, !Interruption.requested {
            let refitStart = monotonicSeconds()
            let c = grid[best.index]
            let refitTask: TaskKind = refitReader.labels.isRegression ? .regression : (refitReader.labels.classCount > 2 ? .multiclass : .binary)
            let refitSetting = setting(c, task: refitTask, records: refitRecords, meanSquaredNorm: EpochTrainer.meanSquaredNorm(refitRecords))
            if !quiet { writeDiagnostic("train: refitting setting \(best.index + 1) on \(refitRecords.count) records") }
            let trained = refitSetting.train(on: refitRecords, classCount: refitReader.labels.classCount, seed: learnerOptions.learnerSeed)
            if trained.interrupted {
                writeDiagnostic("train: interrupted during the refit; the model written is setting \(subsetBest.index + 1) trained on the input, not refitted")
            } else {
                learner = trained.learner
                progressive = trained.progressive
                modelLabels = refitReader.labels
                featureNames = refitReader.context.featureNames
                recordsSeen = refitReader.statistics.recordsAccepted
                lines.append(contentsOf: [
                    "refit_records\t\(refitReader.statistics.recordsAccepted)",
                    "refit_records_skipped\t\(refitReader.statistics.recordsSkipped)",
                    "refit_eta0\t\(CoresetWriter.number(refitSetting.eta0))",
                    "refit_seconds\t\(formatFixed(monotonicSeconds() - refitStart, 3))",
                ])
                try log?.write([("refit_records", "\(refitRecords.count)"), ("seconds", formatFixed(monotonicSeconds() - refitStart, 3)),
                                ("elapsed_seconds", formatFixed(monotonicSeconds() - start, 3))])
            }
        }
        lines.append(contentsOf: [
            "learner_steps\t\(learner.stepCount)",
            "first_epoch_progressive_loss\t\(formatFixed(progressive.total.value, 6))",
            "seconds\t\(formatFixed(monotonicSeconds() - start, 3))",
        ])
        if let test, !Interruption.requested {
            let loaded = try loadRecords(path: test, options: input.readerOptions, labels: modelLabels) { writeDiagnostic($0) }
            lines.append(contentsOf: metricLines(prefix: "test", learner.evaluate(loaded.records)))
        }
        if let modelOut {
            try learner.bundle(labels: modelLabels, featureNames: featureNames, recordsSeen: recordsSeen).write(to: modelOut)
        }
        let out = TextOutput(descriptor: 1)
        try out.write(renderSummary(lines, json: machine.json))
        try out.flush()
    }

    /// Successive halving (`HalvingStage`): the best settings again on a sample of the refit data, l2 scaled to it.
    /// - Returns: nil when the stage is skipped (one setting, or the sample would be most of the refit
    ///   data); else the chosen row (grid index; nil when interrupted) and summary lines.
    func halvingStage(_ rows: [SweepRow], grid: [Choice], refitRecords: [Record], refitLabels: LabelMap,
                      inputCount: Int, log: ProgressLog?, start: Double) throws -> (SweepRow?, [String])? {
        guard rows.count > 1 else { return nil }
        guard let stage = HalvingStage(after: rows, subsetCount: inputCount, full: refitRecords, seed: learnerOptions.learnerSeed) else {
            if !quiet { writeDiagnostic("train: halving skipped: a sample \(HalvingStage.eta) times the input (\(HalvingStage.eta * inputCount) records) would be most of the \(refitRecords.count) refit records") }
            return nil
        }
        let kept = stage.kept
        let sample = stage.sample
        // The holdout again, with the refit data's class ids.
        let holdoutRecords = try holdout.map { try loadRecords(path: $0, options: input.readerOptions, labels: refitLabels) { writeDiagnostic($0) }.records } ?? []
        let task: TaskKind = refitLabels.isRegression ? .regression : (refitLabels.classCount > 2 ? .multiclass : .binary)
        let l2Scale = noL2Scaling ? 1 : stage.l2Scale(fullCount: refitRecords.count)
        let meanSquaredNorm = EpochTrainer.meanSquaredNorm(sample)
        let settings = kept.map { setting(grid[$0.index], task: task, records: sample, meanSquaredNorm: meanSquaredNorm, l2Scale: l2Scale) }
        if !quiet {
            writeDiagnostic("train: halving: the best \(kept.count) settings again on a sample of \(sample.count) refit records"
                            + (l2Scale != 1 ? ", l2 trained at \(formatFixed(l2Scale, 3))x the listed value" : ""))
        }
        let outcome = try HyperparameterSweep(settings: settings, trainer: EpochTrainer(records: sample), holdout: holdoutRecords,
                                              seed: learnerOptions.learnerSeed, classCount: refitLabels.classCount).run(clock: monotonicSeconds) { row in
            var row = row
            row.index = kept[row.index].index
            if !quiet { writeDiagnostic(SweepTable.line(row, of: grid.count, models: hasNetwork)) }
            try log?.write(SweepTable.fields(row, models: hasNetwork) + [("stage", "halving"), ("elapsed_seconds", formatFixed(monotonicSeconds() - start, 3))])
        }
        var chosen: SweepRow?
        if !outcome.interrupted, let b = outcome.bestRow {
            var row = outcome.rows[b]
            row.index = kept[row.index].index
            chosen = row
        }
        let lines = ["halving_settings\t\(kept.count)", "halving_records\t\(sample.count)",
                     "first_stage_setting\t\(stage.firstStageBest.index + 1)"]
        return (chosen, lines)
    }

    /// Reads the refit files whole (any format and compression the input takes).
    func loadRefit() throws -> (records: [Record], reader: RecordReader) {
        try Self.loadRefit(refit, options: input.readerOptions)
    }

    /// Starts reading the refit files on a thread of their own (they are files, not stdin), to be taken
    /// by `sweep`: with the input arriving through a pipe, `select | train - --refit FIT` reads FIT
    /// while `select` works instead of after it.
    func startLoadingRefit() -> BackgroundWork<(records: [Record], reader: RecordReader)>? {
        guard sweeps, !refit.isEmpty, !refit.contains("-") else { return nil }
        let files = refit, options = input.readerOptions
        return BackgroundWork { try Self.loadRefit(files, options: options) }
    }

    static func loadRefit(_ files: [String], options: ReaderOptions) throws -> (records: [Record], reader: RecordReader) {
        let diagnostics = DiagnosticSink()
        var options = options
        options.followIdleTimeout = nil
        let reader = RecordReader(inputs: files.map { $0 == "-" ? .stdin : .file($0) }, options: options, onDiagnostic: diagnostics.report)
        var records: [Record] = []
        while let batch = try reader.next() { records.append(contentsOf: batch.records) }
        if !Interruption.requested { try requireRefitRecords(files, reader.statistics, diagnostics) }
        return (records, reader)
    }

    /// The refit files must give records: none accepted is a data error naming them.
    static func requireRefitRecords(_ refit: [String], _ statistics: IngestStatistics, _ diagnostics: DiagnosticSink) throws(CoresetError) {
        guard statistics.recordsAccepted == 0 else { return }
        let files = refit.map { $0 == "-" ? "<stdin>" : $0 }.joined(separator: ", ")
        throw .badFile(path: files, message: statistics.recordsSkipped > 0
            ? "--refit: no record accepted: all \(statistics.recordsSkipped) records were bad (the first: \(diagnostics.first ?? "not reported"))"
            : "--refit: the files hold no records")
    }
}

/// The grid's table: a human line per setting on stderr, TSV for --sweep-out, fields for --progress-log.
/// `models`: the grid holds a network, and a `model` column follows `setting` (a linear grid's table
/// is as it was before networks).
enum SweepTable {
    static func header(models: Bool) -> String {
        "setting\t" + (models ? "model\t" : "") + "loss\tl2\teta0\tepochs\tholdout_loss\tholdout_accuracy\tseconds"
    }

    static func tsvHeader(models: Bool) -> String {
        "setting\t" + (models ? "model\t" : "") + "loss\tl2\teta0\tepochs\tholdout_loss\tholdout_accuracy\tholdout_log_loss\tseconds\tchosen\ttrained_l2"
    }

    static func describe(_ s: SweepSetting, models: Bool) -> String {
        (models ? "model \(s.modelName), " : "")
            + "loss \(s.loss.rawValue), l2 \(CoresetWriter.number(s.l2)), eta0 \(CoresetWriter.number(s.eta0)), epochs \(s.epochs)"
    }

    static func metric(_ v: Double) -> String { v.isNaN ? "-" : formatFixed(v, 6) }

    static func modelColumn(_ row: SweepRow, _ models: Bool) -> String { models ? row.setting.modelName + "\t" : "" }

    static func line(_ row: SweepRow, of count: Int, models: Bool) -> String {
        "\(row.index + 1)/\(count)\t\(modelColumn(row, models))\(row.setting.loss.rawValue)\t\(CoresetWriter.number(row.setting.l2))\t\(CoresetWriter.number(row.setting.eta0))\t\(row.setting.epochs)\t"
            + "\(metric(row.holdout.loss))\t\(metric(row.holdout.accuracy))\t\(formatFixed(row.seconds, 3))"
    }

    static func tsv(_ row: SweepRow, chosen: Bool, models: Bool) -> String {
        "\(row.index + 1)\t\(modelColumn(row, models))\(row.setting.loss.rawValue)\t\(CoresetWriter.number(row.setting.l2))\t\(CoresetWriter.number(row.setting.eta0))\t\(row.setting.epochs)\t"
            + "\(metric(row.holdout.loss))\t\(metric(row.holdout.accuracy))\t\(metric(row.holdout.logLoss))\t\(formatFixed(row.seconds, 3))\t\(chosen ? 1 : 0)\t\(CoresetWriter.number(row.setting.trainedL2))"
    }

    static func fields(_ row: SweepRow, models: Bool) -> [(String, String)] {
        var f = [("setting", "\(row.index + 1)")] + (models ? [("model", row.setting.modelName)] : []) + [("loss", row.setting.loss.rawValue), ("l2", CoresetWriter.number(row.setting.l2)),
                 ("eta0", CoresetWriter.number(row.setting.eta0)), ("epochs", "\(row.setting.epochs)"), ("seconds", formatFixed(row.seconds, 3))]
        if !row.holdout.loss.isNaN { f.append(("holdout_loss", formatFixed(row.holdout.loss, 6))) }
        if !row.holdout.accuracy.isNaN { f.append(("holdout_accuracy", formatFixed(row.holdout.accuracy, 4))) }
        return f
    }
}
