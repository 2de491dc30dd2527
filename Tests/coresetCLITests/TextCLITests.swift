import Foundation
import Testing

/// `coreset select --format text`: raw log lines in, representative lines with weights out.
@Suite struct TextCLITests {
    static let sample = CLI.fixtures.appendingPathComponent("logs/fail2ban-sample.log").path

    /// The fixture's log text without the service column, and the services apart.
    static func unlabelledSample() throws -> (path: String, lines: [String], services: [String]) {
        let rows = try String(contentsOfFile: sample, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1) }
        let lines = rows.map { String($0[1]) }
        let path = CLI.temporaryFile("app.log", Data((lines.joined(separator: "\n") + "\n").utf8))
        return (path, lines, rows.map { String($0[0]) })
    }

    struct Row {
        var weight: Double
        var id: Int
        var fields: [String]
    }

    static func rows(_ stdout: String) -> [Row] {
        stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Row(weight: Double(f[0])!, id: Int(f[1])!, fields: Array(f[2...]))
        }
    }

    @Test func unlabelledSummaryPrintsTheLinesMostWeightFirst() throws {
        let input = try Self.unlabelledSample()
        let r = try CLI.run(["select", "--format", "text", "-k", "20", "--quiet", input.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.rows(r.stdout)
        #expect(rows.count == 20)
        // Each row is the line at its stream position, verbatim.
        for row in rows { #expect(row.fields.joined(separator: "\t") == input.lines[row.id]) }
        #expect(rows.map(\.weight) == rows.map(\.weight).sorted(by: >))
        #expect(abs(rows.reduce(0) { $0 + $1.weight } - Double(input.lines.count)) < 0.05)
        // Better than nothing: 20 representatives of 300 lines span many services (random: ~17 on average).
        #expect(Set(rows.map { input.services[$0.id] }).count >= 15)
        // Hashed vectors instead, on request.
        let vectors = try CLI.run(["select", "--format", "text", "-k", "5", "--quiet", "--output-format", "jsonl", input.path])
        #expect(vectors.status == 0)
        #expect(vectors.stdout.split(separator: "\n").count == 5)
        #expect(vectors.stdout.contains("\"indices\""))
    }

    @Test func labelledLinesKeepTheirClassesInProportion() throws {
        let r = try CLI.run(["select", "--format", "text", "-k", "91", "--quiet", "--label-field", "0", Self.sample])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.rows(r.stdout)
        #expect(rows.count == 91)
        // The class column comes first; every one of the 91 services gets one element (its share is 300/91 lines).
        #expect(Set(rows.map { $0.fields[0] }).count == 91)
        // The printed line is the whole input line, service column included.
        #expect(rows.allSatisfy { !$0.fields[1].isEmpty })
    }

    @Test func textOptionsNeedTheTextFormat() throws {
        let r = try CLI.run(["select", "--label-pattern", "(x)", Self.sample])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--format text"))
        let bad = try CLI.run(["select", "--format", "text", "--label-pattern", "no group", Self.sample])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("capture group"))
    }

    @Test func emitEveryPrintsSummariesAlongTheWay() throws {
        let input = try Self.unlabelledSample()
        let r = try CLI.run(["select", "--format", "text", "-k", "5", "--quiet", "--emit-every", "100", input.path])
        #expect(r.status == 0)
        let headers = r.stdout.split(separator: "\n").filter { $0.hasPrefix("# summary after ") }
        #expect(headers.map { $0.split(separator: " ")[3] } == ["100", "200", "300", "300"])
    }

    @Test func aFollowedLogGetsNewKindsOfLinesRepresentedAfterTheWindowTurnsOver() throws {
        // A real file, written by a writer thread while `coreset select --follow` reads it: first 600
        // lines of an old kind, then 600 of a new kind. With a 300-line window, the final summary
        // represents only the new kind, with weight exactly 300.
        let path = CLI.temporaryFile("app.log", Data())
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("coreset")
        process.arguments = ["select", "--format", "text", "--quiet", "-k", "4", "--window", "300", "--reference-size", "100",
                             "--warm-up", "50", "--follow", path, "--follow-idle-exit", "2"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let kinds = [
            ["Jun 21 16:47:48 host sshd[%d]: Failed password for root from 192.0.2.%d port 22 ssh2",
             "Jun 21 16:47:49 host sshd[%d]: Connection closed by 198.51.100.%d [preauth]"],
            ["[2024-01-02 03:04:05] ERROR payment-service: charge %d declined for order %d",
             "[2024-01-02 03:04:06] WARN payment-service: retry %d of order %d"],
        ]
        for (k, templates) in kinds.enumerated() {
            for i in 0..<600 {
                let line = String(format: templates[i % 2], i + 7 * k, i % 250) + "\n"
                try handle.write(contentsOf: Data(line.utf8))
                if i % 100 == 99 { Thread.sleep(forTimeInterval: 0.05) }
            }
        }
        try handle.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let rows = Self.rows(String(decoding: data, as: UTF8.self))
        #expect(rows.count == 4)
        #expect(rows.allSatisfy { $0.fields[0].contains("payment-service") && $0.id >= 600 })
        #expect(abs(rows.reduce(0) { $0 + $1.weight } - 300) < 0.05)
    }

    @Test func aHalfLifeLetsNewKindsTakeOverTheWeight() throws {
        // Same stream in one file with a 100-line half-life: the new kind ends up with almost all weight.
        var text = ""
        for i in 0..<600 { text += "Jun 21 16:47:48 host sshd[\(i)]: Failed password for root from 192.0.2.\(i % 250) port 22 ssh2\n" }
        for i in 0..<600 { text += "[2024-01-02 03:04:05] ERROR payment-service: charge \(i) declined\n" }
        let path = CLI.temporaryFile("app.log", Data(text.utf8))
        let r = try CLI.run(["select", "--format", "text", "--quiet", "-k", "4", "--half-life", "100", path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.rows(r.stdout)
        let newWeight = rows.filter { $0.fields[0].contains("payment-service") }.reduce(0) { $0 + $1.weight }
        let total = rows.reduce(0) { $0 + $1.weight }
        #expect(rows.first?.fields[0].contains("payment-service") == true)
        #expect(newWeight / total > 0.95)
    }
}
