import Testing
@testable import CoresetKit

@Suite struct TextParserTests {
    static let sshLine = "Jun 21 16:47:48 digital-mlhhyiqscv sshd[13709]: error: PAM: Authentication failure for myhlj1374 from 192.030.0.6"

    func vector(_ text: String, _ configure: (inout TextOptions) -> Void = { _ in }, bits: Int = 18) -> [(index: UInt32, value: Float)] {
        var o = TextOptions()
        configure(&o)
        var parser = TextParser(options: o, hashBits: bits)
        return parser.features(of: text)
    }

    @Test func tokensAreNormalised() {
        var parser = TextParser()
        let line = "Jun 21 16:47:48 Host-7 sshd[13709]: Failed for ID 0x1f3a, hash 140890c7 user s1gnx005133 on Tuesday"
        let bytes = Array(line.utf8)
        bytes.withUnsafeBufferPointer { parser.tokenise($0) }
        let text = parserTokens(parser)
        #expect(text == ["<d>", "0", "0", ":", "0", ":", "0", "host", "-", "0", "sshd", "[", "0", "]", ":", "failed", "for", "id",
                         "0", ",", "hash", "0", "user", "s0gnx0", "on", "<d>"])
    }

    func parserTokens(_ parser: TextParser) -> [String] {
        let mirror = Mirror(reflecting: parser)
        let norm = mirror.children.first { $0.label == "normalised" }!.value as! [UInt8]
        let ends = mirror.children.first { $0.label == "tokenEnds" }!.value as! [Int]
        var out: [String] = []
        var s = 0
        for e in ends { out.append(String(decoding: norm[s..<e], as: UTF8.self)); s = e }
        return out
    }

    @Test func sameLineSameVectorAndAFixedIndexList() {
        // MurmurHash3 is fixed, so these indices are the same on every run and platform. If they change,
        // every saved coreset of text changes meaning: do not update them lightly.
        let v = vector(Self.sshLine, { $0.shapeGrams = 0 }, bits: 18)
        #expect(v.map(\.index) == TextParserTests.pinnedWordIndices)
        let norm = Float(1) / Float(v.count).squareRoot()
        #expect(v.allSatisfy { abs($0.value - norm) < 1e-6 })
        #expect(vector(Self.sshLine).map(\.index) == vector(Self.sshLine).map(\.index))
        var a = TextParser(), b = TextParser()
        _ = a.features(of: "something else entirely 42")
        #expect(a.features(of: Self.sshLine).map(\.index) == b.features(of: Self.sshLine).map(\.index))
    }

    static let pinnedWordIndices: [UInt32] = [
        16249, 20823, 37826, 55449, 55575, 72501, 86815, 102610, 109299, 114815, 124032, 126288, 157846, 192404, 195619, 204901, 215524,
    ]

    @Test func murmurMatchesItsReferenceValues() {
        // MurmurHash3 x86_32 reference values (SMHasher): "" seed 0 -> 0, "hello" seed 0 -> 0x248bfa47.
        func h(_ s: String, _ seed: UInt32) -> UInt32 { Array(s.utf8).withUnsafeBufferPointer { VWParser.murmur3($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count, seed: seed) } }
        #expect(h("", 0) == 0)
        #expect(h("hello", 0) == 0x248b_fa47)
        #expect(h("Hello, world!", 1234) == 0xfaf6_cdb3)
    }

    @Test func linesDifferingOnlyInNumbersHashAlike() {
        let other = "Jul  3 01:02:03 digital-mlhhyiqscv sshd[99]: error: PAM: Authentication failure for myhlj7 from 10.1.2.3"
        #expect(vector(Self.sshLine).map(\.index) == vector(other).map(\.index))
        // Keeping numbers tells them apart.
        #expect(vector(Self.sshLine, { $0.maskNumbers = false }).map(\.index) != vector(other, { $0.maskNumbers = false }).map(\.index))
    }

    @Test func shapeAndNgramsAddFeatures() {
        let words = vector(Self.sshLine, { $0.shapeGrams = 0 })
        let bigrams = vector(Self.sshLine, { $0.shapeGrams = 0; $0.ngrams = 2 })
        let shaped = vector(Self.sshLine)
        #expect(bigrams.count > words.count)
        #expect(shaped.count > words.count)
        #expect(Set(words.map(\.index)).isSubset(of: Set(bigrams.map(\.index))))
        // Unit length.
        #expect(abs(shaped.reduce(0) { $0 + $1.value * $1.value } - 1) < 1e-5)
        #expect(vector(Self.sshLine, { $0.unitLength = false }).allSatisfy { $0.value == 1 })
    }

    @Test func timestampsAreStrippedByPattern() {
        let a = "2024-03-01T10:11:12.345Z worker started job"
        let b = "Mar  1 10:11:12 worker started job"
        let strip: (inout TextOptions) -> Void = { $0.stripPatterns = [TextOptions.timestampPattern] }
        #expect(vector(a, strip).map(\.index) == vector(b, strip).map(\.index))
        #expect(vector(a).map(\.index) != vector(b).map(\.index))
    }

    @Test func labelFromAPatternWithUnlabelledLinesKept() throws {
        let text = "level=ERROR disk full\nlevel=INFO started\nno level here\nlevel=ERROR disk full again\n\n"
        let r = TestSupport.parse(text, format: .text) { $0.text.label = .pattern(#"level=(\w+)"#) }
        #expect(r.error == nil)
        #expect(r.records.count == 4)
        #expect(r.records.map(\.label) == [0, 1, 2, 0])
        #expect(r.reader.labels.names == ["ERROR", "INFO", "unlabelled"])
    }

    @Test func labelFromAFieldIsLeftOutOfTheFeatures() throws {
        let text = "sshd\tJun 21 16:47:48 host sshd[1]: Accepted\npostfix\tJun 21 16:47:49 host postfix[2]: reject\n"
        let r = TestSupport.parse(text, format: .text) { $0.text.label = .field(0) }
        #expect(r.records.map(\.label) == [0, 1])
        #expect(r.reader.labels.names == ["sshd", "postfix"])
        // The record's features are those of the line without the label field.
        var p = TextParser()
        #expect(r.records[0].features.indices == p.features(of: "Jun 21 16:47:48 host sshd[1]: Accepted").map(\.index))
        // Runs of blanks as the delimiter; a line with too few fields is unlabelled.
        let spaced = TestSupport.parse("a  x y\nb\n", format: .text) { $0.text.label = .field(1); $0.text.fieldDelimiter = nil }
        #expect(spaced.reader.labels.names == ["x", "unlabelled"])
    }

    @Test func labelFromAJSONKeyMapped() throws {
        let text = #"{"level":"ERROR","msg":"disk 3 full"}"# + "\n" + #"{"level":"FATAL","msg":"disk 4 full"}"# + "\n"
            + #"{"level":"INFO","msg":"ok"}"# + "\n" + #"{"msg":"no level"}"# + "\n"
        let r = TestSupport.parse(text, format: .text) {
            $0.text.label = .jsonKey("level")
            $0.text.textKey = "msg"
            $0.text.labelMap = ["ERROR": "bad", "FATAL": "bad"]
        }
        #expect(r.error == nil)
        #expect(r.records.map(\.label) == [0, 0, 1, 2])
        #expect(r.reader.labels.names == ["bad", "INFO", "unlabelled"])
        // Features from "msg" only: the two disk lines differ only in a number.
        #expect(r.records[0].features == r.records[1].features)
        // A line that is not a JSON object is a bad record, reported with its line.
        let bad = TestSupport.parse("not json\n", format: .text) { $0.text.label = .jsonKey("level") }
        #expect(bad.reader.statistics.recordsSkipped == 1)
        #expect(bad.diagnostics.first?.contains(":1:") == true)
    }

    @Test func badPatternsAreReportedUpFront() {
        var o = TextOptions()
        o.stripPatterns = ["(unclosed"]
        #expect(o.validationError()?.contains("--strip") == true)
        o = TextOptions()
        o.label = .pattern("no group")
        #expect(o.validationError()?.contains("capture group") == true)
        o.label = .pattern("level=(\\w+)")
        #expect(o.validationError() == nil)
        #expect(TextOptions.hasCaptureGroup("(?<level>\\w+)"))
        #expect(!TextOptions.hasCaptureGroup("(?:a|b)\\(x\\)[(]"))
    }

    @Test func keptLinesAreHandedOutOncePerBatch() throws {
        let r = TestSupport.parse("first line\n\nsecond line\n", format: .text) { $0.text.keepLines = true }
        #expect(r.records.map(\.position) == [0, 1])
        // readAll drained nothing: the lines are still there, by position.
        let kept = r.reader.takeKeptLines()
        #expect(kept.map(\.position) == [0, 1])
        #expect(kept.map(\.text) == ["first line", "second line"])
        #expect(r.reader.takeKeptLines().isEmpty)
    }
}

@Suite struct LineTextStoreTests {
    @Test func storeStaysBoundedOnALongStreamAndKeepsEveryOutputLine() {
        // 5,000 lines through a small selector: the text store holds about what the
        // selector holds, not the stream, and every element of the coreset has its text.
        let config = SelectorConfiguration(k: 10, similarity: .cosine, referenceSize: 200, warmUp: 100)
        let selector = CoresetSelector(configuration: config, task: .multiclass)
        let store = LineTextStore(minimumPruneSize: 256)
        var parser = TextParser(hashBits: 12)
        var largest = 0
        var position: UInt64 = 0
        for batchIndex in 0..<50 {
            var batch = RecordBatch()
            var lines: [(position: UInt64, text: String)] = []
            for i in 0..<100 {
                let text = "service\(batchIndex % 7 == 0 ? "a" : "b") event \(["start", "stop", "fail", "retry"][i % 4]) user u\(i) code \(i * batchIndex)"
                for (j, v) in parser.features(of: text) {
                    batch.indices.append(j)
                    batch.values.append(v)
                }
                batch.closeRow(label: 0, weight: 1, position: position)
                lines.append((position, text))
                position += 1
            }
            store.add(lines)
            selector.offer(batch)
            store.pruneIfGrown { selector.heldPositions }
            largest = max(largest, store.count)
        }
        selector.finish()
        let held = selector.heldPositions.count
        #expect(largest <= max(256, 2 * held) + 100 + 1)
        #expect(largest < 3000)
        let coreset = selector.coreset
        #expect(coreset.count == 10)
        for e in coreset.elements { #expect(store[e.id] != nil) }
        let rows = RepresentativeLinesWriter(labels: nil).rows(coreset, texts: store)
        let weights = rows.map { Double($0.split(separator: "\t")[0])! }
        #expect(weights == weights.sorted(by: >))
        #expect(abs(weights.reduce(0, +) - 5_000) < 0.1)
    }
}
