import Foundation
import Testing
@testable import CoresetKit

/// Replays every input the fuzzers found (fixtures/fuzz/regressions/<target>-<what>) and every seed
/// through the checks the fuzz targets make (FuzzCase.swift and FuzzStateTargets.swift, shared with
/// tools/fuzz): the record readers, text, coresetfile, checkpoint, model and follow.
@Suite struct FuzzRegressionTests {
    static let regressions = TestSupport.fixtures.appendingPathComponent("fuzz/regressions")

    static func files(in dir: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func problems(_ file: URL, target: FuzzTarget) -> [String] {
        let data = try! Data(contentsOf: file)
        return data.withUnsafeBytes { fuzzProblems($0, target: target) }
    }

    @Test func everyRegressionInputKeepsTheReadersPromises() {
        let files = Self.files(in: Self.regressions)
        #expect(files.count >= 4)
        for file in files {
            guard let target = FuzzTarget(fileName: file.lastPathComponent) else {
                Issue.record("\(file.lastPathComponent): name must start with a target (\(FuzzTarget.allCases.map(\.rawValue)))")
                continue
            }
            #expect(Self.problems(file, target: target) == [], "\(file.lastPathComponent)")
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everySeedKeepsTheReadersPromises(target: FuzzTarget) {
        let files = Self.files(in: TestSupport.fixtures.appendingPathComponent("fuzz/\(target.rawValue)"))
        #expect(!files.isEmpty)
        for file in files { #expect(Self.problems(file, target: target) == [], "\(target)/\(file.lastPathComponent)") }
    }

    /// The crash the first fuzz run found in every format: a huge integer label trapped converting to Int.
    @Test func hugeIntegerLabelIsABadRecordNotACrash() {
        let r = TestSupport.parse("1e300 1:1\n1 1:2\n-1 1:3\n")
        #expect(r.error == nil)
        #expect(r.records.map(\.label) == [1, 0])
        #expect(r.reader.statistics.recordsSkipped == 1)
        #expect(r.diagnostics.first?.hasSuffix(":1: class label 1e300 out of range (-1 ... 65535)") == true)
        let vw = TestSupport.parse("88888888888888888888 |f x\n1 |f x\n", format: .vw)
        #expect(vw.records.count == 1 && vw.reader.statistics.recordsSkipped == 1)
    }

    /// Found by the fourth run: VW values that overflow a Float only once scaled or summed were accepted as inf.
    @Test func vwValuesThatOverflowOnceScaledOrSummedAreBadRecords() {
        let r = TestSupport.parse("1 |ns:1e52 w\n1 |ns:1e30 w:1e30\n1 | 7:3e38 7:3e38\n1 |ns:2 w:3\n", format: .vw)
        #expect(r.records.map(\.features.values) == [[6]])
        #expect(r.diagnostics.map { $0.split(separator: ":", maxSplits: 2).last.map(String.init) ?? "" } == [
            " bad namespace scale \"1e52\"",
            " non-finite value in \"w:1e30\" times its namespace scale",
            " feature 7: the sum of its values is not finite",
        ])
    }

    /// The committed checkpoint seeds are states this build restores (not rejected at the door, where
    /// the fuzzer would learn nothing), and freshly generated ones still are.
    @Test func checkpointSeedsAreStatesThisBuildReads() throws {
        let dir = TestSupport.fixtures.appendingPathComponent("fuzz/checkpoint")
        let committed = Self.files(in: dir).map { ($0.lastPathComponent, [UInt8](try! Data(contentsOf: $0))) }
        for (name, bytes) in try checkpointSeeds() + committed where name.contains("selector-") {
            let (configuration, task) = checkpointConfigurations[Int(bytes[0] >> 2) & 3]
            #expect(throws: Never.self, "\(name)") { try CoresetSelector(restoring: Array(bytes.dropFirst()), configuration: configuration, task: task) }
        }
        for (name, bytes) in committed where name.contains("state-") {
            let select = bytes[0] & 3 == 3
            let file = bytes[0] & 128 != 0 ? Array(bytes.dropFirst())
                : checkpointFile(payload: Array(bytes.dropFirst()), format: select ? SelectState.formatName : RunState.formatName,
                                 version: select ? SelectState.formatVersion : RunState.formatVersion)
            let d = TestSupport.temporaryDirectory().path
            TestSupport.write(file, to: URL(fileURLWithPath: RunState.path(inDirectory: d)))
            if select { #expect(try SelectState.read(fromDirectory: d) != nil, "\(name)") } else { #expect(try RunState.read(fromDirectory: d) != nil, "\(name)") }
        }
    }

    /// The committed model seeds load.
    @Test func modelSeedsLoad() throws {
        for file in Self.files(in: TestSupport.fixtures.appendingPathComponent("fuzz/model")) {
            #expect(throws: Never.self, "\(file.lastPathComponent)") { try ModelBundle.read(from: file.path).trainedModel() }
        }
    }
}
