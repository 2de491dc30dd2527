import ArgumentParser
import CoresetKit

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Read a record stream and summarise it: bytes, records accepted/skipped, labels, dimension, speed.",
        discussion: CommonOptionsHelp.text([CommonOptionsHelp.input, CommonOptionsHelp.quiet, CommonOptionsHelp.json, CommonOptionsHelp.progressLog],
                                           note: "Progress goes to stderr while it runs; the summary goes to stdout at the end."))

    @OptionGroup var input: InputOptions
    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    @OptionGroup var machine: MachineOutputOptions

    func run() throws {
        Interruption.installSignalHandlers()
        try runReportingErrors {
            try input.checkReadable()
            let diagnostics = DiagnosticSink()
            let reader = RecordReader(inputs: input.inputs, options: input.readerOptions, onDiagnostic: diagnostics.report)
            var summary = StreamSummary(regression: input.regression)
            let progress = ProgressReporter(enabled: !quiet)
            let log = try machine.openLog()
            let size = InputSize(input)
            func line() -> String {
                let s = reader.statistics
                let t = max(progress.elapsed, 1e-9)
                return "\(s.recordsAccepted) records, \(s.recordsSkipped) skipped, "
                    + formatRate(Double(s.bytesOut) / t / 1e6, unit: "MB/s") + ", "
                    + formatRate(Double(s.recordsAccepted) / t, unit: "records/s")
                    + size.bar(bytesRead: s.bytesIn, elapsed: t)
            }
            func logRow() -> [(String, String)] {
                let s = reader.statistics
                return [("records", "\(s.recordsAccepted)"), ("skipped", "\(s.recordsSkipped)"), ("bytes_in", "\(s.bytesIn)"),
                        ("seconds", formatFixed(progress.elapsed, 3))]
            }
            var failure: Error?
            do {
                while let batch = try reader.next() {
                    summary.add(batch)
                    progress.update(count: reader.statistics.recordsAccepted, line)
                    try log?.update(count: reader.statistics.recordsAccepted, logRow)
                }
            } catch {
                failure = error
            }
            progress.finish(line())
            try log?.write(logRow())
            // The summary is printed even when the stream ended in an error: what was accepted counts.
            let out = TextOutput(descriptor: 1)
            try out.write(renderSummary(Self.render(summary, reader: reader, seconds: progress.elapsed), json: machine.json))
            try out.flush()
            if let failure { throw failure }
            try input.requireAcceptedRecords(reader.statistics, diagnostics, nonzeros: Int(summary.nonzeros))
        }
    }

    static func render(_ s: StreamSummary, reader: RecordReader, seconds: Double) -> [String] {
        let st = reader.statistics
        let t = max(seconds, 1e-9)
        var lines: [String] = []
        lines.append("inputs\t\(st.inputsOpened)")
        lines.append("bytes_in\t\(st.bytesIn)")
        lines.append("bytes_out\t\(st.bytesOut)")
        lines.append("lines\t\(st.lines)")
        lines.append("records_accepted\t\(st.recordsAccepted)")
        lines.append("records_skipped\t\(st.recordsSkipped)")
        if st.partialLinesDropped > 0 { lines.append("partial_lines_dropped\t\(st.partialLinesDropped)") }
        lines.append("weighted_example_sum\t\(formatFixed(s.totalWeight, 3))")
        lines.append("task\t\(reader.labels.task.rawValue)")
        if s.isRegression {
            if s.records > 0 {
                lines.append("target_min\t\(s.targetMin)")
                lines.append("target_max\t\(s.targetMax)")
                lines.append("target_mean\t\(s.targetSum / Double(s.records))")
            }
        } else {
            for (c, n) in s.classCounts.enumerated() where n > 0 {
                lines.append("label\t\(reader.labels.name(of: c))\t\(n)")
            }
        }
        lines.append("dimension\t\(s.dimension)")
        lines.append("nonzeros\t\(s.nonzeros)")
        lines.append("density\t\(formatFixed(s.density, 6))")
        lines.append("seconds\t\(formatFixed(seconds, 3))")
        lines.append("records_per_second\t\(formatFixed(Double(st.recordsAccepted) / t, 0))")
        lines.append("mb_per_second\t\(formatFixed(Double(st.bytesOut) / t / 1e6, 1))")
        return lines
    }
}
