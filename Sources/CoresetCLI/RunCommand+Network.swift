import ArgumentParser
import CoresetKit

extension CrestConfiguration.Batches: ExpressibleByArgument {}

/// `run --model mlp:...`: a neural learner trained on mini-batches of a buffer (`--minibatches`).
struct NetworkOptions: ParsableArguments {
    @Option(name: .long, help: "Learner: linear (default) or a neural network mlp:HIDDEN (e.g. mlp:128 or mlp:256,128) trained on mini-batches of a buffer (see --minibatches).")
    var model: String = "linear"

    @Option(name: .long, help: "mlp: records held in memory (uniform reservoir, or the last N with --window); the pool mini-batches are drawn from.")
    var buffer: Int = 20_000

    @Option(name: .long, help: "mlp: mini-batch size B.")
    var batchSize: Int = 128

    @Option(name: .long, help: "mlp: sampled (plain passes made cheaper by pruning fitted records and sampling backward passes by loss, both reweighted to stay unbiased), cached (CREST mini-batch coresets on last-layer gradients cached from training, per class), coreset (the same on fresh forward passes of random subsets, with CREST's loss model) or random (uniform mini-batches from those subsets).")
    var minibatches: CrestConfiguration.Batches = .sampled

    @Option(name: .long, help: "mlp (coreset, random): random subsets (one mini-batch each) per selection round.")
    var subsets: Int = 8

    @Option(name: .long, help: "mlp (cached, coreset, random): candidates each mini-batch of B is selected from.")
    var subsetSize: Int = 512

    @Option(name: .long, help: "mlp (coreset, random): reselect when the loss leaves its quadratic model by this relative gap (CREST's tau).")
    var lossGap: Double = 0.1

    @Flag(name: .long, inversion: .prefixedNo, help: "mlp: stop drawing records whose loss stayed below 0.1 at 2 visits (coreset, random: selections) in a row (default: on except with sampled).")
    var dropLearned: Bool?

    @Option(name: .long, help: "mlp: records whose loss is below this skip their backward pass (their gradient is nearly zero); 0 turns it off (default: 0.05, sampled: 0).")
    var skipFitted: Double?

    @Option(name: .long, help: "mlp: take a record's backward pass with probability min(1, g / (FACTOR mean g)), g = its weight times 1 - p_y, and weight its gradient by the inverse (unbiased, cheaper steps); 0 turns it off (default: sampled 2, others 0).")
    var sampleBackward: Double?

    @Option(name: .long, help: "mlp (sampled, cached): leave a record whose cached loss is below the pass mean out of its step with this probability and weight it 1/(1 - rate) when kept (InfoBatch); 0 turns it off (default: sampled 0.5, cached 0).")
    var pruneRate: Double?

    @Option(name: .long, help: "mlp (sampled, cached): prune in proportion instead of --prune-rate: keep a record in its step with probability min(1, max(floor, e / (FACTOR mean e))), e its error 1 - p_y cached from its last forward pass and the floor 0.1 doubled for each pass since, and weight it by the inverse (unbiased; faster to a target on mnist at 2, but weights up to 10 can cost a small run accuracy); 0 (default) turns it off.")
    var pruneFactor: Double?

    @Option(name: .long, help: "mlp: mini-batch steps earned by every B arriving records (the network learns while the stream flows).")
    var stepsPerBatch: Double = 1

    @Option(name: .long, help: "mlp: momentum of SGD.")
    var momentum: Double = 0.9

    var hiddenLayers: [Int]? { NetworkRunConfiguration.hiddenLayers(model: model) }

    func validate() throws {
        if model != "linear" && hiddenLayers == nil {
            throw ValidationError("--model must be linear or mlp:HIDDEN with one or more positive widths, e.g. mlp:128 or mlp:256,128 (got \"\(model)\")")
        }
        if buffer < 1 || batchSize < 1 || subsets < 1 || subsetSize < 1 {
            throw ValidationError("--buffer, --batch-size, --subsets and --subset-size must be at least 1")
        }
        if !(stepsPerBatch >= 0) { throw ValidationError("--steps-per-batch must be non-negative") }
        if !(lossGap > 0) { throw ValidationError("--loss-gap must be positive") }
        if let skipFitted, !(skipFitted >= 0 && skipFitted.isFinite) { throw ValidationError("--skip-fitted must be a non-negative loss") }
        if let sampleBackward, !(sampleBackward == 0 || (sampleBackward > 1 && sampleBackward.isFinite)) {
            throw ValidationError("--sample-backward must be 0 (off) or a factor above 1 (got \(sampleBackward))")
        }
        if let pruneRate, !(pruneRate >= 0 && pruneRate < 1) { throw ValidationError("--prune-rate must be in [0, 1) (got \(pruneRate))") }
        if let pruneFactor, !(pruneFactor == 0 || (pruneFactor > 0 && pruneFactor.isFinite)) {
            throw ValidationError("--prune-factor must be 0 (off) or a positive factor (got \(pruneFactor))")
        }
        if let pruneRate, let pruneFactor, pruneRate > 0, pruneFactor > 0 {
            throw ValidationError("--prune-rate (InfoBatch's rule) and --prune-factor are two pruning rules: give one")
        }
        if !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1)") }
    }
}

extension RunCommand {
    /// The network run: one thread, CREST mini-batch coresets from the buffer, then final epochs.
    func runNetwork(hidden: [Int]) throws {
        if coresetOut != nil { throw CoresetError.usage("--coreset-out is not available with --model mlp (its mini-batch coresets are reselected continually)") }
        if saveEvery != nil { throw CoresetError.usage("--save-every is not available with --model mlp; --model-out saves at the end") }
        if checkpoint.state != nil { throw CoresetError.usage("--state is not available with --model mlp (checkpoints cover the linear pipeline); --model-out and --resume continue a network") }
        try input.checkReadable(holdout, test, resume)
        var readerOptions = input.readerOptions
        readerOptions.followIdleTimeout = input.followIdleExit
        let resumed = try resume.map { try ModelBundle.read(from: $0) }
        if let resumed {
            guard resumed.network != nil else { throw CoresetError.usage("--resume \(resume!): the file holds a linear model; drop --model mlp to continue it") }
            readerOptions.initialLabels = resumed.labels
        }
        let diagnostics = DiagnosticSink()
        let reader = RecordReader(inputs: input.inputs, options: readerOptions, onDiagnostic: diagnostics.report)
        let log = try machine.openLog()
        var config = NetworkRunConfiguration(hidden: hidden)
        config.bufferSize = selection.window ?? network.buffer
        config.window = selection.window != nil
        config.stepsPerBatch = network.stepsPerBatch
        config.finalEpochs = finalEpochs ?? 5
        config.eta0 = learnerOptions.eta0 ?? 0.05
        config.l2 = learnerOptions.l2
        config.momentum = network.momentum
        config.seed = learnerOptions.learnerSeed
        // The mode's measured defaults, then what the command line sets.
        config.crest = CrestConfiguration(batches: network.minibatches)
        config.crest.batchSize = network.batchSize
        config.crest.subsetCount = network.subsets
        config.crest.subsetSize = network.subsetSize
        config.crest.lossGapThreshold = network.lossGap
        if let v = network.dropLearned { config.crest.dropLearned = v }
        if let v = network.skipFitted { config.crest.skipFittedLoss = v }
        if let v = network.sampleBackward { config.crest.backwardSampling = v }
        if let v = network.pruneRate { config.crest.pruneRate = v }
        if let v = network.pruneFactor {
            config.crest.pruneFactor = v
            if v > 0 { config.crest.pruneRate = 0 }
        }
        config.crest.seed = learnerOptions.learnerSeed &+ 0xC5E57
        let holdoutRecords = try holdout.map {
            try loadRecords(path: $0, options: input.readerOptions, labels: resumed?.labels) { writeDiagnostic($0) }.records
        } ?? []
        let showProgress = !quiet
        if showProgress {
            writeDiagnostic("average    since      records    holdout    holdout   buffer   steps     selections  MB/s      elapsed")
            writeDiagnostic("loss       last                  loss       accuracy                                          s")
        }
        let run = NetworkStreamingRun(reader: reader, configuration: config, holdout: holdoutRecords) { p in
            var row = [("seconds", formatFixed(p.elapsed, 3)), ("buffer", "\(p.bufferCount)"), ("steps", "\(p.statistics.steps)")]
            if let r = p.row {
                row += [("records", "\(r.exampleCount)"), ("average_loss", formatFixed(r.averageLoss, 6)), ("since_last", formatFixed(r.sinceLast, 6))]
            } else {
                row.append(("epoch", formatFixed(p.epoch, 2)))
            }
            if let h = p.holdout { row += [("holdout_loss", formatFixed(h.loss, 6)), ("holdout_accuracy", formatFixed(h.accuracy, 4))] }
            do { try log?.write(row) } catch { writeDiagnostic("coreset: \(error)") }
            guard showProgress else { return }
            let mbps = Double(p.bytesOut) / max(p.elapsed, 1e-9) / 1e6
            func col(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
            let head = p.row.map { col(formatFixed($0.averageLoss, 6), 11) + col(formatFixed($0.sinceLast, 6), 11) + col(String($0.exampleCount), 11) }
                ?? col("epoch", 11) + col(formatFixed(p.epoch, 2), 11) + col("", 11)
            writeDiagnostic(
                head + col(p.holdout.map { formatFixed($0.loss, 6) } ?? "-", 11)
                    + col(p.holdout.map { formatFixed($0.accuracy, 4) } ?? "-", 10) + col(String(p.bufferCount), 9)
                    + col(String(p.statistics.steps), 10) + col(String(p.statistics.selections), 12)
                    + col(formatFixed(mbps, 1), 10) + formatFixed(p.elapsed, 3))
        }
        run.initialModel = resumed?.network
        let result = try run.run()
        let st = result.statistics
        if result.streamError == nil { try input.requireAcceptedRecords(st, diagnostics) }
        var lines: [String] = [
            "records_accepted\t\(st.recordsAccepted)",
            "records_skipped\t\(st.recordsSkipped)",
            "bytes_in\t\(st.bytesIn)",
            "bytes_out\t\(st.bytesOut)",
            "task\tmulticlass",
            "model\tmlp:\(hidden.map(String.init).joined(separator: ","))",
            "minibatches\t\(network.minibatches.rawValue)",
            "buffer_size\t\(result.bufferCount)",
        ]
        if let t = result.trainer {
            lines += [
                "learner_steps\t\(t.statistics.steps)",
                "selections\t\(t.statistics.selections)",
                "loss_checks\t\(t.statistics.checks)",
                "selection_seconds\t\(formatFixed(t.statistics.selectionSeconds + t.statistics.checkSeconds, 3))",
                "dropped_learned\t\(t.dropped.count)",
                "backward_skipped\t\(t.statistics.skippedBackward)",
                "records_pruned\t\(t.statistics.prunedRecords)",
            ]
        }
        lines.append("progressive_loss\t\(formatFixed(result.progressive.total.value, 6))")
        lines.append("progressive_accuracy\t\(formatFixed(result.progressive.correct.value, 6))")
        lines.append("seconds\t\(formatFixed(result.seconds, 3))")
        if test != nil && Interruption.requested {
            writeDiagnostic("interrupted: --test \(test!) was not evaluated")
        } else if let test, let t = result.trainer {
            let loaded = try loadRecords(path: test, options: input.readerOptions, labels: reader.labels) { writeDiagnostic($0) }
            lines.append(contentsOf: metricLines(prefix: "test", t.network.evaluate(loaded.records)))
        }
        if let modelOut, let t = result.trainer {
            let file = NetworkModelFile(network: t.network, optimizer: t.optimizer, crest: t.configuration)
            let bundle = ModelBundle(labels: reader.labels, featureNames: reader.context.featureNames,
                                     recordsSeen: (resumed?.recordsSeen ?? 0) + st.recordsAccepted, network: file)
            try bundle.write(to: modelOut)
        } else if modelOut != nil {
            writeDiagnostic("warning: no record was accepted, so no model was written")
        }
        let out = TextOutput(descriptor: 1)
        try out.write(renderSummary(lines, json: machine.json))
        try out.flush()
        if let e = result.streamError { throw e }
    }
}
