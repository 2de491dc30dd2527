import Foundation
import Testing

/// Issue 24: what a command-line user expects (help, -q, exit 65 when nothing is read, a model that does
/// not fit) and machine-readable runs (--json, --progress-log, the progress bar).
@Suite struct CommandLineUserCLITests {
    static let commands = ["run", "select", "merge", "train", "predict", "eval", "stats"]
    static let sample = "+1 1:0.5 3:1\n-1 2:2 4:0.5\n+1 1:1.5 2:0.25\n-1 3:0.5 4:1\n+1 1:2 3:0.5\n-1 2:1 4:2\n"

    /// A small LIBSVM file and a model trained on it.
    static func fixture() throws -> (data: String, model: String, dir: URL) {
        let data = CLI.temporaryFile("d.svm", Data(String(repeating: sample, count: 20).utf8))
        let dir = URL(fileURLWithPath: data).deletingLastPathComponent()
        let model = dir.appendingPathComponent("m.json").path
        let t = try CLI.run(["train", "-q", data, "--model-out", model])
        #expect(t.status == 0, "\(t.stderr)")
        return (data, model, dir)
    }

    static func jsonObject(_ text: some StringProtocol) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    @Test func helpStartsWithTheCommonOptions() throws {
        for command in Self.commands {
            let r = try CLI.run([command, "--help"])
            #expect(r.status == 0)
            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let common = lines.firstIndex { $0.hasPrefix("COMMON OPTIONS") }
            #expect(common != nil && common! < 15, "\(command): \(lines.prefix(15))")
            #expect(lines.prefix(32).contains { $0.contains("-q, --quiet") }, "\(command)")
            if ["run", "select", "merge"].contains(command) {
                #expect(lines.prefix(20).contains { $0.hasPrefix("  -k <k>") }, "\(command)")
            }
        }
    }

    @Test func quietAndJSONWorkOnEveryCommand() throws {
        let (data, model, dir) = try Self.fixture()
        let coreset = dir.appendingPathComponent("c.svm").path
        #expect(try CLI.run(["select", "-q", "-k", "4", data, "-o", coreset]).status == 0)
        let runs: [String: [String]] = [
            "run": ["run", "--sync", "-k", "4", data], "select": ["select", "-k", "4", data],
            "merge": ["merge", "-k", "3", coreset], "train": ["train", data],
            "predict": ["predict", "--model", model, data], "eval": ["eval", "--model", model, data], "stats": ["stats", data],
        ]
        for (command, arguments) in runs {
            let quiet = try CLI.run(arguments + ["-q"])
            #expect(quiet.status == 0, "\(command): \(quiet.stderr)")
            #expect(quiet.stderr.isEmpty, "\(command) -q: \(quiet.stderr)")
            let json = try CLI.run(arguments + ["-q", "--json"])
            #expect(json.status == 0, "\(command): \(json.stderr)")
            // The summary is one JSON object: on stdout, or on stderr where stdout carries data.
            let carriesData = ["select", "merge", "predict"].contains(command)
            let text = carriesData ? json.stderr : json.stdout
            #expect(text.split(separator: "\n").count == 1, "\(command): \(text)")
            let object = Self.jsonObject(text)
            #expect(object != nil, "\(command): \(text)")
            if command != "merge" && command != "eval" {
                #expect(object?["records_accepted"] as? Int == 120, "\(command): \(text)")
            }
            if carriesData { #expect(json.stdout == quiet.stdout, "\(command)") }
        }
        let stats = Self.jsonObject(try CLI.run(["stats", "-q", "--json", data]).stdout)
        #expect((stats?["labels"] as? [String: Any])?["+1"] as? Int == 60)
    }

    @Test func progressLogsAreJSONRows() throws {
        let (data, _, dir) = try Self.fixture()
        let big = CLI.temporaryFile("big.svm", Data(String(repeating: Self.sample, count: 700).utf8))
        for (command, arguments) in [("stats", ["stats", big]), ("select", ["select", "-k", "4", big]),
                                     ("run", ["run", "--sync", "-k", "4", big]), ("train", ["train", "--epochs", "3", data])] {
            let log = dir.appendingPathComponent("\(command).log").path
            let r = try CLI.run(arguments + ["-q", "--progress-log", log])
            #expect(r.status == 0, "\(command): \(r.stderr)")
            let rows = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { Self.jsonObject($0) }
            #expect(rows.count >= (command == "train" ? 3 : 2), "\(command): \(rows)")
            #expect(rows.allSatisfy { $0?["seconds"] is Double || $0?["seconds"] is Int }, "\(command)")
            let records = rows.compactMap { $0?["records"] as? Int }
            #expect(records == records.sorted() && records.last == (command == "train" ? 120 : 4200), "\(command): \(records)")
            if command == "run" || command == "train" { #expect(rows.allSatisfy { $0?["average_loss"] is Double }, "\(command)") }
        }
        // tools/plot_progress.py reads them (the plot itself needs matplotlib).
        let log = dir.appendingPathComponent("run.log").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", FormatsCLITests.root.appendingPathComponent("tools/plot_progress.py").path, "--summary", log]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        if (try? p.run()) != nil {
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            #expect(text.contains("average_loss"), "\(text)")
        }
    }

    @Test func aRunThatAcceptsNoRecordExits65() throws {
        let (data, _, dir) = try Self.fixture()
        let binary = CLI.temporaryFile("bin.dat", Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        let out = dir.appendingPathComponent("kept.svm").path
        try Data("kept\n".utf8).write(to: URL(fileURLWithPath: out))
        let cases: [([String], String)] = [
            (["stats", "-q", "-f", "jsonl", data], "no record accepted: all 120 records were bad, so this is not --format jsonl data"),
            (["select", "-q", "-k", "2", "-f", "vw", data, "-o", out], "this is not --format vw data"),
            (["train", "-q", binary], "no record accepted"),
            (["run", "-q", "-f", "jsonl", data], "this is not --format jsonl data"),
            (["stats", "-q", "-f", "csv", data], "no record has a feature"),
        ]
        for (arguments, message) in cases {
            let r = try CLI.run(arguments)
            #expect(r.status == 65, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
        // -o was left as it was.
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "kept\n")
        // Empty input is still no error.
        let empty = CLI.temporaryFile("empty.svm", Data())
        #expect(try CLI.run(["stats", "-q", empty]).status == 0)
    }

    @Test func aModelThatDoesNotFitTheDataIsRefused() throws {
        let (data, model, _) = try Self.fixture()
        let far = CLI.temporaryFile("far.svm", Data("1 1:0.5 500:1 600:1\n-1 700:1 800:2\n".utf8))
        for arguments in [["predict", "--model", model, far], ["eval", "--model", model, far],
                          ["run", "-q", "--resume", model, far], ["select", "-q", "-k", "2", "--model", model, far]] {
            let r = try CLI.run(arguments)
            #expect(r.status == 65, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains("far.svm: does not fit the model \(model): 4 of the 5 feature values"), "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(arguments)")
        }
        let classes = CLI.temporaryFile("classes.svm", Data("7 1:0.5\n8 2:1\n".utf8))
        for arguments in [["run", "-q", "--resume", model, classes], ["select", "-q", "-k", "2", "--model", model, classes]] {
            let r = try CLI.run(arguments)
            #expect(r.status == 65, "\(arguments): \(r.stderr)")
            #expect(r.stderr.contains("none of the labels of its first 2 records is a class of the model (classes: -1, +1)"), "\(arguments): \(r.stderr)")
        }
        // eval: a label the model lacks is a bad record; none left is exit 65 with the reason.
        let e = try CLI.run(["eval", "--model", model, classes])
        #expect(e.status == 65)
        #expect(e.stderr.contains("no record accepted") && e.stderr.contains("label 7 is not a class of the model"), "\(e.stderr)")
        // The model's own data still fits.
        #expect(try CLI.run(["eval", "--model", model, data]).status == 0)
    }

    @Test func predictNamesItsColumns() throws {
        let (data, model, dir) = try Self.fixture()
        let p = try CLI.run(["predict", "-q", "--model", model, data])
        #expect(p.stdout.hasPrefix("predicted\t-1\t+1\n"), "\(p.stdout.prefix(80))")
        #expect(try CLI.run(["predict", "-q", "--no-header", "--model", model, data]).stdout == String(p.stdout.drop { $0 != "\n" }.dropFirst()))
        let targets = CLI.temporaryFile("r.svm", Data("0.5 1:1\n-1.25 2:1\n2 1:1 2:1\n".utf8))
        let regression = dir.appendingPathComponent("r.json").path
        #expect(try CLI.run(["train", "-q", "--regression", targets, "--model-out", regression]).status == 0)
        let r = try CLI.run(["predict", "-q", "--regression", "--model", regression, targets])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n")
        #expect(rows.first == "prediction" && rows.count == 4 && rows.dropFirst().allSatisfy { Double($0) != nil }, "\(rows)")
    }

    /// On a terminal with inputs of known size, the in-place progress line shows percent and ETA.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func progressBarOnATerminal() throws {
        let big = CLI.temporaryFile("big.svm", Data(String(repeating: Self.sample, count: 700).utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        let binary = CLI.productsDirectory.appendingPathComponent("coreset").path
        p.arguments = ["-qc", "\(binary) stats --chunk-size 64 \(big) >/dev/null", "/dev/null"]
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(text.contains("] 100%"), "\(text.suffix(300))")
        #expect(text.contains("[####################]"), "\(text.suffix(300))")
    }
}

/// Issue 24 item 4: tools/install-completions puts the completions where bash, zsh and fish find them.
@Suite struct CompletionsCLITests {
    @Test func completionScriptsNameEveryCommandAndOption() throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = try CLI.run(["--generate-completion-script", shell])
            #expect(r.status == 0)
            for word in ["select", "merge", "predict", "progress-log", "output-format"] {
                #expect(r.stdout.contains(word), "\(shell): \(word)")
            }
        }
    }

    /// Runs the installer with XDG directories in a temporary home and a `swift` that fails, so the
    /// completions are installed and the man page step reports its failure without failing the script.
    @Test func installerWritesTheCompletionsAndSurvivesAMissingManPage() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-home-\(UUID().uuidString)")
        let bin = home.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho 'no swift here' >&2\nexit 1\n".utf8).write(to: bin.appendingPathComponent("swift"))
        chmod(bin.appendingPathComponent("swift").path, 0o755)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [FormatsCLITests.root.appendingPathComponent("tools/install-completions").path,
                       CLI.productsDirectory.appendingPathComponent("coreset").path]
        p.environment = ["PATH": bin.path + ":/usr/bin:/bin", "HOME": home.path,
                         "XDG_DATA_HOME": home.appendingPathComponent("data").path, "XDG_CONFIG_HOME": home.appendingPathComponent("config").path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(stderr)")
        for path in ["data/bash-completion/completions/coreset", "data/zsh/site-functions/_coreset", "config/fish/completions/coreset.fish"] {
            let text = try String(contentsOfFile: home.appendingPathComponent(path).path, encoding: .utf8)
            #expect(text.contains("merge"), "\(path)")
        }
        #expect(stderr.contains("no man page: the generate-manual plugin failed"), "\(stderr)")
        #expect(stderr.contains("no swift here"), "\(stderr)")
    }
}
