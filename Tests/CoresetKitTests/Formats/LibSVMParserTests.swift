import Foundation
import Testing
@testable import CoresetKit

@Suite struct LibSVMParserTests {
    @Test func parsesLabelsIndicesQidAndComments() {
        let r = TestSupport.parse("+1 qid:3 1:0.5 3:-2 # a comment\n-1 2:1e-3\n# only a comment\n\n")
        #expect(r.error == nil)
        #expect(r.records.count == 2)
        #expect(r.records[0].label == 1)
        #expect(r.records[0].features.indices == [0, 2])
        #expect(r.records[0].features.values == [0.5, -2])
        #expect(r.records[1].label == 0)
        #expect(r.records[1].features.values == [0.001])
        #expect(r.records[1].position == 1)
        #expect(r.reader.statistics.recordsSkipped == 0)
        #expect(r.reader.statistics.lines == 4)
        #expect(r.reader.labels.task == .binary)
        #expect(r.reader.labels.name(of: 0) == "-1")
    }

    /// Values of 16-19 significant digits (printed Doubles) take a shortcut; each must be the Float of
    /// strtod's Double, bit for bit, including values next to the midpoint between two Floats.
    @Test func longDecimalsGiveTheFloatOfStrtodsDouble() throws {
        var g = SeededGenerator(seed: 9)
        var texts: [String] = []
        for n in 0..<6000 {
            let digits = 16 + Int(g.below(4))
            var mantissa = "\(1 + g.below(9))"
            for _ in 1..<digits { mantissa += "\(g.below(10))" }
            let point = Int(g.below(UInt64(digits)))  // digits before the point: 0 gives 0.xxx
            var t = point == 0 ? "0." + mantissa : String(mantissa.prefix(point)) + "." + mantissa.dropFirst(point)
            if n % 3 == 0 { t = "-" + t }
            texts.append(t)
        }
        for _ in 0..<3000 {
            // Just around a midpoint between two Floats (printed to 17-19 digits, so the shortcut's
            // interval straddles it and the slow path must decide).
            let f = Float(bitPattern: UInt32(0x3C00_0000) + UInt32(truncatingIfNeeded: g.below(0x0300_0000)))
            let mid = (Double(f) + Double(f.nextUp)) / 2
            let nudge = [0, 1, -1, 3][Int(g.below(4))]
            let v = nudge == 0 ? mid : Double(bitPattern: UInt64(Int64(mid.bitPattern) + Int64(nudge)))
            texts.append(String(format: "%.\(16 + g.below(3))g", v))
        }
        let line = texts.enumerated().map { "\($0.offset + 1):\($0.element)" }.joined(separator: " ")
        let r = TestSupport.parse("1 " + line + "\n")
        #expect(r.error == nil)
        let values = try #require(r.records.first?.features.values)
        #expect(values.count == texts.count)
        var mismatches = 0
        for (t, v) in zip(texts, values) where v.bitPattern != Float(strtod(t, nil)).bitPattern { mismatches += 1 }
        #expect(mismatches == 0)
    }

    @Test func crlfTrailingSpacesAndNoFinalNewline() {
        let r = TestSupport.parse("1 1:1 2:2  \r\n0 3:3\t\r\n1 4:4")
        #expect(r.error == nil)
        #expect(r.records.map(\.label) == [1, 0, 1])
        #expect(r.records[0].features.values == [1, 2])
        #expect(r.records[2].features.indices == [3])
    }

    @Test func zeroBasedIndices() {
        let r = TestSupport.parse("1 0:1 5:2\n") { $0.zeroBasedIndices = true }
        #expect(r.records[0].features.indices == [0, 5])
        let oneBased = TestSupport.parse("1 0:1 5:2\n")
        #expect(oneBased.records.isEmpty)
        #expect(oneBased.diagnostics.first?.contains(":1: feature index 0 in one-based data") == true)
    }

    @Test func unsortedIndicesAreSorted() {
        let r = TestSupport.parse("1 5:5 2:2 9:9\n")
        #expect(r.records[0].features.indices == [1, 4, 8])
        #expect(r.records[0].features.values == [2, 5, 9])
    }

    @Test func badRecordsAreSkippedCountedAndReported() {
        let text = """
            1 1:1
            1 2:1 2:3
            1 -4:1
            1 99999999999:1
            1 3:nan
            1 3:inf
            abc 1:1
            1,2 1:1
            1 3:x
            0.5 1:1
            1 7:7
            """
        let r = TestSupport.parse(text)
        #expect(r.error == nil)
        #expect(r.records.count == 2)
        #expect(r.records.map(\.position) == [0, 1])
        #expect(r.reader.statistics.recordsAccepted == 2)
        #expect(r.reader.statistics.recordsSkipped == 9)
        let d = r.diagnostics
        #expect(d.count == 9)
        #expect(d[0].hasSuffix(":2: duplicate feature index 2"))  // as written (one-based)
        #expect(d[1].contains(":3: negative feature index"))
        #expect(d[2].contains(":4: feature index 99999999999 too large"))
        #expect(d[3].contains(":5: non-finite value"))
        #expect(d[4].contains(":6: non-finite value"))
        #expect(d[5].contains(":7: label \"abc\" is not a number"))
        #expect(d[6].contains(":8: multi-label"))
        #expect(d[7].contains(":9: bad value \"x\""))
        #expect(d[8].contains(":10: label 0.5 is not an integer class"))
    }

    @Test func strictModeStopsAfterDeliveringEarlierRecords() {
        let r = TestSupport.parse("1 1:1\n0 2:2\n1 1:x\n1 3:3\n") { $0.strict = true }
        #expect(r.records.count == 2)
        guard case .badRecord(_, let line, let reason)? = r.error else {
            Issue.record("expected a bad record error, got \(String(describing: r.error))")
            return
        }
        #expect(line == 3)
        #expect(reason.contains("bad value"))
        #expect(r.error?.exitCode == 65)
    }

    @Test func regressionAndMulticlassLabels() {
        let reg = TestSupport.parse("0.25 1:1\n-3.5 1:2\n") { $0.regression = true }
        #expect(reg.records.map(\.label) == [0.25, -3.5])
        #expect(reg.reader.labels.task == .regression)
        let multi = TestSupport.parse("3 1:1\n0 1:1\n9 1:1\n")
        #expect(multi.records.map(\.label) == [3, 0, 9])
        #expect(multi.reader.labels.task == .multiclass)
        #expect(multi.reader.labels.classCount == 10)
    }

    @Test func veryLongLineAndTinyChunks() {
        let features = (1...20_000).map { "\($0):\(Double($0) / 7)" }.joined(separator: " ")
        let text = "1 \(features)\n0 1:1\n"
        let small = TestSupport.parse(text) { $0.chunkSize = 64 }
        #expect(small.error == nil)
        #expect(small.records.count == 2)
        #expect(small.records[0].features.nonzeroCount == 20_000)
        let whole = TestSupport.parse(text)
        #expect(whole.records == small.records)
    }

    @Test func lineLongerThanTheLimitIsSkipped() {
        let long = "1 " + (1...100).map { "\($0):1" }.joined(separator: " ")
        let r = TestSupport.parse("1 1:1\n\(long)\n0 2:2\n") {
            $0.chunkSize = 64
            $0.maxLineLength = 128
        }
        #expect(r.records.map(\.label) == [1, 0], "\(r.diagnostics)")
        #expect(r.reader.statistics.recordsSkipped == 1)
        #expect(r.diagnostics.first?.contains(":2: line longer than 128 bytes") == true)
    }

    @Test func chunkBoundariesDoNotChangeRecords() throws {
        var text = ""
        for i in 0..<500 { text += "\(i % 2 == 0 ? "+1" : "-1") \(i % 7 + 1):\(Double(i) / 3) \(i % 11 + 20):0.125\n" }
        let reference = TestSupport.parse(text).records
        #expect(reference.count == 500)
        for chunk in [64, 100, 997, 1 << 20] {
            let r = TestSupport.parse(text) { $0.chunkSize = chunk }
            #expect(r.records == reference, "chunk \(chunk)")
        }
    }

    @Test func fastNumberPathMatchesStrtod() {
        let samples = ["0", "-0.5", "3.14159", "0.000123", "123456789012345", "1.5e3", "2E-4", "0.10000000000000001", "-17.25", ".5", "5."]
        for s in samples {
            let bytes = Array(s.utf8)
            let v = bytes.withUnsafeBufferPointer { NumberParsing.parseDouble($0.baseAddress!, 0, $0.count) }
            #expect(v == Double(s), "\(s)")
        }
        for s in ["", "-", "1.2.3", "0x10", "1e", "--1", " 1"] {
            let bytes = Array(s.utf8)
            let v = bytes.withUnsafeBufferPointer { p -> Double? in
                guard let b = p.baseAddress else { return nil }
                return NumberParsing.parseDouble(b, 0, p.count)
            }
            #expect(v == nil, "\(s)")
        }
    }

    @Test func bundledAdultFixtureReadsInFull() {
        let path = TestSupport.fixtures.appendingPathComponent("adult/adult.train.svm.zst").path
        let r = TestSupport.readAll([.file(path)])
        #expect(r.error == nil)
        #expect(r.records.count == 32_561)
        #expect(r.reader.statistics.recordsSkipped == 0)
        #expect(r.records.filter { $0.label == 1 }.count == 7_841)
        #expect(r.records.map(\.features.nonzeroCount).reduce(0, +) == 394_496)
        #expect(r.reader.statistics.bytesOut == 2_925_821)
        #expect(r.reader.statistics.bytesIn == 296_901)
    }
}
