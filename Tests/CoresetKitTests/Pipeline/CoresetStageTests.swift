import Foundation
import Testing
@testable import CoresetKit

// BEGIN README EXAMPLE
/// Streams LIBSVM text through a coreset stage, printing each snapshot; returns the final one.
func streamThroughCoreset(_ chunks: [[UInt8]]) async throws -> CoresetStageSnapshot {
    let stage = CoresetStage(configuration: CoresetStageConfiguration(
        task: .binary, selector: SelectorConfiguration(k: 100, referenceSize: 500), snapshotEvery: 1000))
    // Snapshots arrive while input is pushed: read them in a task of their own.
    let watcher = Task {
        var published = 0
        for await snapshot in stage.snapshots {
            published += 1
            let loss = snapshot.progressiveLoss.map { formatFixed($0, 4) } ?? "-"
            print("\(snapshot.records) records: \(snapshot.coreset.count) elements, weight \(snapshot.coreset.totalWeight), loss \(loss)")
        }
        return published
    }
    for chunk in chunks {
        try await stage.push(text: chunk)  // chunks may cut lines anywhere
    }
    let final = try await stage.finish()  // publishes the final snapshot and ends the stream
    let published = await watcher.value
    print("\(published) snapshots; \(final.skipped) lines skipped")
    for element in final.coreset.elements.prefix(3) {
        // Each element: the record as it arrived (position = its id), its weight, and the model's prediction.
        print(element.id, element.weight, final.model!.predict(element.record.features))
    }
    return final
}
// END README EXAMPLE

@Suite struct CoresetStageTests {
    /// The first `lines` lines of the bundled adult test set, decompressed.
    static func adultText(lines: Int) throws -> [UInt8] {
        let all = try CoresetFileReader.readAll(TestSupport.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path)
        var seen = 0
        for (i, b) in all.enumerated() where b == 0x0A {
            seen += 1
            if seen == lines { return Array(all[...i]) }
        }
        return all
    }

    static func chunks(_ text: [UInt8], size: Int) -> [[UInt8]] {
        stride(from: 0, to: text.count, by: size).map { Array(text[$0..<min(text.count, $0 + size)]) }
    }

    @Test func theReadmeExampleRunsOnRealData() async throws {
        let text = try Self.adultText(lines: 2500)
        let final = try await streamThroughCoreset(Self.chunks(text, size: 4093))
        #expect(final.isFinal)
        #expect(final.records == 2500)
        #expect(final.skipped == 0)
        #expect(final.coreset.count == 100)
        let positives = Double(String(decoding: text, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("1") }.count)
        #expect(abs(final.coreset.totalWeight(ofClass: 1) - positives) < 1e-9 * 2500)
        #expect(abs(final.coreset.totalWeight(ofClass: 0) - (2500 - positives)) < 1e-9 * 2500)
        let loss = try #require(final.progressiveLoss)
        #expect(loss > 0.2 && loss < 0.6)  // learned something: log 2 = 0.69 is guessing
        #expect(final.model != nil)
    }

    @Test func theReadmeShowsExactlyTheTestedExample() throws {
        let readme = try String(contentsOf: TestSupport.fixtures.deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let begin = source.range(of: "// BEGIN README EXAMPLE\n")!, end = source.range(of: "// END README EXAMPLE")!
        let tested = String(source[begin.upperBound..<end.lowerBound])
        let marker = try #require(readme.range(of: "```swift\nimport CoresetKit\n\n"))
        let block = readme[marker.upperBound...]
        let shown = String(block[..<block.range(of: "```")!.lowerBound])
        #expect(shown == tested)
    }

    @Test func snapshotsDoNotDependOnHowTheTextIsCut() async throws {
        let text = try Self.adultText(lines: 1200)
        var finals: [CoresetStageSnapshot] = []
        for size in [text.count, 1, 777] {
            let stage = CoresetStage(configuration: .init(task: .binary, selector: SelectorConfiguration(k: 40, referenceSize: 300),
                                                          snapshotEvery: 250, modelUpdateEvery: 300))
            for c in Self.chunks(text, size: size) { try await stage.push(text: c) }
            finals.append(try await stage.finish())
        }
        for f in finals.dropFirst() {
            #expect(f.coreset.elements == finals[0].coreset.elements)
            #expect(f.model?.weights == finals[0].model?.weights)
        }
        // Pushing the records themselves gives the same as pushing their text.
        let reader = RecordReader(inputs: [.file(TestSupport.fixtures.appendingPathComponent("adult/adult.test.svm.zst").path)])
        var records: [Record] = []
        while records.count < 1200, let b = try reader.next() { records += b.records }
        let stage = CoresetStage(configuration: .init(task: .binary, selector: SelectorConfiguration(k: 40, referenceSize: 300),
                                                      snapshotEvery: 250, modelUpdateEvery: 300))
        let (stream, continuation) = AsyncStream.makeStream(of: Record.self)
        for r in records.prefix(1200) { continuation.yield(r) }
        continuation.finish()
        try await stage.consume(stream)
        let viaRecords = try await stage.finish()
        #expect(viaRecords.coreset.elements == finals[0].coreset.elements)
    }

    @Test func everySnapshotCarriesTheWeightSeenSoFar() async throws {
        let text = try Self.adultText(lines: 900)
        let stage = CoresetStage(configuration: .init(task: .binary, selector: SelectorConfiguration(k: 30, referenceSize: 200),
                                                      learns: false, snapshotEvery: 200, snapshotBufferSize: 16))
        try await stage.push(text: text)
        try await stage.finish()
        var seen: [UInt64] = []
        for await s in stage.snapshots {
            seen.append(s.records)
            #expect(abs(s.coreset.totalWeight - Double(s.records)) < 1e-9 * Double(max(1, s.records)))
            #expect(s.model == nil)
        }
        #expect(seen == [200, 400, 600, 800, 900])
    }

    /// A binary stage of k = 2 fed as "feed", lenient (bad lines counted) or strict (the first one throws).
    static func smallBinaryStage(strict: Bool) -> CoresetStage {
        var options = ReaderOptions()
        options.strict = strict
        return CoresetStage(configuration: .init(task: .binary, selector: SelectorConfiguration(k: 2, referenceSize: 10, warmUp: 2),
                                                 reader: options), inputName: "feed")
    }

    @Test func badLinesAreCountedOrStopTheStageInStrictMode() async throws {
        let text = Array("1 1:1\n1 x:1\n-1 2:1\n-1 3:1".utf8)
        let lenient = Self.smallBinaryStage(strict: false)
        try await lenient.push(text: text)
        let s = try await lenient.finish()
        #expect(s.records == 3)  // the unterminated last line counts
        #expect(s.skipped == 1)
        #expect(s.problems == ["feed:2: bad feature index \"x\""])
        let strict = Self.smallBinaryStage(strict: true)
        await #expect(throws: CoresetError.badRecord(input: "feed", line: 2, reason: "bad feature index \"x\"")) {
            try await strict.push(text: text)
        }
        #expect(await strict.snapshot().records == 1)  // the record before the bad line was taken
    }

    @Test func aBinaryStageRefusesAThirdClass() async throws {
        let text = Array("1 1:1\n-1 2:1\n2 3:1\n1 4:1\n".utf8)
        let lenient = Self.smallBinaryStage(strict: false)
        try await lenient.push(text: text)
        let s = try await lenient.finish()
        #expect(s.records == 3)
        #expect(s.skipped == 1)
        #expect(s.problems.count == 1 && s.problems[0].hasPrefix("feed:3: label 2 is a third class of a binary stage"), "\(s.problems)")
        #expect(Set(s.coreset.elements.map(\.record.label)).isSubset(of: [0, 1]))
        let strict = Self.smallBinaryStage(strict: true)
        await #expect(throws: CoresetError.self) { try await strict.push(text: text) }
        #expect(await strict.snapshot().records == 2)
    }
}
