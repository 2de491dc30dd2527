import Foundation
import Testing

/// `select --fit-model`: a quick linear model from one pass, then selection in gradient space at it.
@Suite struct FitModelCLITests {
    static let adultTest = CLI.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path

    static func elements(_ stdout: String) -> [(id: Int, weight: Double)] {
        stdout.split(separator: "\n").map { line in
            let comment = line.split(separator: "#")[1].split(separator: " ")
            return (Int(comment[0].dropFirst("id=".count))!, Double(comment[1].dropFirst("weight=".count))!)
        }
    }

    @Test func fitModelSelectsAtTheModelOfOneOnlinePass() throws {
        let fitted = try CLI.run(["select", "-q", "-k", "40", "--fit-model", Self.adultTest])
        #expect(fitted.status == 0, "\(fitted.stderr)")
        let chosen = Self.elements(fitted.stdout)
        #expect(chosen.count == 40)
        #expect(abs(chosen.reduce(0) { $0 + $1.weight } - 16281) < 1e-6)
        // The same model saved by one online pass of `run`, given with --model: the same coreset.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coreset-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = dir.appendingPathComponent("online.json").path
        let pass = try CLI.run(["run", "-q", "--sync", "--mode", "online-only", Self.adultTest, "--model-out", model])
        #expect(pass.status == 0, "\(pass.stderr)")
        let saved = try CLI.run(["select", "-q", "-k", "40", "--model", model, Self.adultTest])
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(fitted.stdout == saved.stdout)
        // And not the feature-space coreset of the default.
        let plain = try CLI.run(["select", "-q", "-k", "40", Self.adultTest])
        #expect(Set(Self.elements(plain.stdout).map(\.id)) != Set(chosen.map(\.id)))
        // Without -q it says what it fitted.
        let told = try CLI.run(["select", "-k", "40", "--fit-model", Self.adultTest])
        #expect(told.stderr.contains("fit-model: a binary linear model from one pass over 16281 records"))
    }

    /// `--representatives sampled`: the medoids' weights, on records drawn from their cells.
    @Test func sampledRepresentativesKeepTheWeights() throws {
        let medoids = try CLI.run(["select", "-q", "-k", "40", Self.adultTest])
        let sampled = try CLI.run(["select", "-q", "-k", "40", "--representatives", "sampled", Self.adultTest])
        #expect(sampled.status == 0, "\(sampled.stderr)")
        let m = Self.elements(medoids.stdout), s = Self.elements(sampled.stdout)
        #expect(s.count == 40)
        #expect(m.map(\.weight).sorted() == s.map(\.weight).sorted())
        #expect(Set(m.map(\.id)) != Set(s.map(\.id)))
        let again = try CLI.run(["select", "-q", "-k", "40", "--representatives", "sampled", Self.adultTest])
        #expect(again.stdout == sampled.stdout)
        let sieve = try CLI.run(["select", "-q", "-k", "40", "--representatives", "sampled", "--algorithm", "sieve++", Self.adultTest])
        #expect(sieve.status == 64)
        #expect(sieve.stderr.contains("sample-greedy"))
    }

    @Test func fitModelNeedsFilesAndGradientSpace() throws {
        // Refused before stdin is read (so nothing is written to it: the pipe would break).
        let stdin = try CLI.run(["select", "-q", "-k", "10", "--fit-model", "-"], stdin: Data())
        #expect(stdin.status == 64)
        #expect(stdin.stderr.contains("--fit-model reads the input twice: give files (not stdin or --follow)"))
        let both = try CLI.run(["select", "-q", "-k", "10", "--fit-model", "--model", "m.json", Self.adultTest])
        #expect(both.status == 64)
        #expect(both.stderr.contains("pass one of them"))
        let feature = try CLI.run(["select", "-q", "-k", "10", "--fit-model", "--space", "feature", Self.adultTest])
        #expect(feature.status == 64)
        #expect(feature.stderr.contains("drop --space feature"))
    }
}
