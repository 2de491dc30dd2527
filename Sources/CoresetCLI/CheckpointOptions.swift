import ArgumentParser
import CoresetKit

/// `--state DIR` and `--checkpoint-every`, shared by `run` and `select`.
struct CheckpointOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Checkpoint into this directory (input position; selector state; for run, the model and its optimizer too), and resume from it when it holds one. Input files only (stdin and --follow cannot be re-read).",
        valueName: "dir"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --state: checkpoint every N records (e.g. 100000) or every N seconds (30s) or minutes (5m); also on SIGINT/SIGTERM and at the end.",
        valueName: "N|Ns|Nm"))
    var checkpointEvery: CheckpointSchedule.Interval = .seconds(30)

    func validate(inputs input: InputOptions) throws {
        if state != nil && (input.inputs.isEmpty || !input.inputs.allSatisfy(\.isResumable)) {
            throw ValidationError("--state needs input files: stdin and --follow cannot be read again from a saved position, so a run on them cannot be resumed")
        }
    }

    /// The command line a checkpoint must be resumed with: every argument but where the state goes,
    /// how often, and -q (they do not change results).
    static func fingerprint(_ arguments: [String]) -> String {
        var kept: [String] = []
        var skipNext = false
        for a in arguments {
            if skipNext { skipNext = false; continue }
            // Options that do not change the result: a run may resume with other values.
            if a == "--state" || a == "--checkpoint-every" || a == "--threads" { skipNext = true; continue }
            if a.hasPrefix("--state=") || a.hasPrefix("--checkpoint-every=") || a.hasPrefix("--threads=") || a == "-q" || a == "--quiet" { continue }
            kept.append(a)
        }
        return kept.joined(separator: " ")
    }
}

/// `--checkpoint-every`: a record count (`100000`) or a time (`30s`, `5m`).
extension CheckpointSchedule.Interval: ExpressibleByArgument {
    public init?(argument: String) {
        if let n = UInt64(argument), n > 0 {
            self = .records(n)
        } else if argument.hasSuffix("s"), let v = Double(argument.dropLast()), v > 0 {
            self = .seconds(v)
        } else if argument.hasSuffix("m"), let v = Double(argument.dropLast()), v > 0 {
            self = .seconds(v * 60)
        } else {
            return nil
        }
    }

    public var defaultValueDescription: String {
        switch self {
        case .records(let n): return String(n)
        case .seconds(let s): return "\(formatFixed(s, 0))s"
        }
    }
}
