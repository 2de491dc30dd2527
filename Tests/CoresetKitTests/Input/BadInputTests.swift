import Foundation
import Testing
@testable import CoresetKit

/// The bad-input corpus (fixtures/bad/, made by tools/make_bad_inputs.py): for each file, the exact
/// error, the position it names, and the records accepted before it. Decided behaviour:
/// - corrupt or truncated compressed data ends the stream with `corruptInput` at the offset of the
///   frame or member that failed (the file's end when it is cut short); every record decoded before
///   it is delivered, a partial last line is not;
/// - a bad record (NaN/Inf, invalid UTF-8 in a label or name, an index past `maxDimension`, a class a
///   model does not have) is skipped, counted and described as `file:line: reason`, or ends a strict
///   stream as `badRecord` after the records before it;
/// - empty input is not an error: zero records.
@Suite struct BadInputTests {
    static func bad(_ name: String) -> String { TestSupport.fixtures.appendingPathComponent("bad/\(name)").path }

    static func read(_ name: String, format: RecordFormat = .libsvm, configure: (inout ReaderOptions) -> Void = { _ in })
        -> (records: [Record], reader: RecordReader, error: CoresetError?, diagnostics: [String])
    {
        var o = ReaderOptions()
        o.format = format
        configure(&o)
        return TestSupport.readAll([.file(bad(name))], options: o)
    }

    static func size(_ name: String) -> UInt64 {
        (try! FileManager.default.attributesOfItem(atPath: bad(name))[.size] as! NSNumber).uint64Value
    }

    /// First feature value of each record: the good lines of the corpus number themselves.
    static func numbers(_ records: [Record]) -> [Float] { records.map { $0.features.values[0] } }

    // MARK: compressed streams

    @Test func truncatedZstdFrame() {
        for prefetch in [true, false] {
            let r = Self.read("truncated-frame.svm.zst") { $0.prefetch = prefetch }
            #expect(r.error == .corruptInput(input: Self.bad("truncated-frame.svm.zst"), offset: Self.size("truncated-frame.svm.zst"),
                                             message: "truncated zstd stream (ends inside a frame)"))
            #expect(Self.numbers(r.records) == (0..<10).map(Float.init))
            #expect(r.reader.statistics.recordsAccepted == 10)
        }
    }

    @Test func corruptZstdBlockFailsItsChecksumAtTheFramesEnd() {
        // Frame 2 (from byte 72) has a corrupt block: its lines are delivered as decoded, the first
        // garbled one is a bad record, and its checksum (byte 139) fails it. Before issue 28 the
        // frame's records were dropped or not depending on the chunk size.
        for chunk in [64, 4096, 1 << 20] {
            let r = Self.read("corrupt-block.svm.zst") { $0.chunkSize = chunk }
            #expect(r.error == .corruptInput(input: Self.bad("corrupt-block.svm.zst"), offset: 139,
                                             message: "corrupt zstd data: Restored data doesn't match checksum"))
            #expect(Self.numbers(r.records) == (0..<19).map(Float.init), "chunk \(chunk)")
            #expect(r.reader.statistics.recordsSkipped == 1)
        }
    }

    @Test func textAfterAZstdFrameIsAnUnknownFrame() {
        let r = Self.read("garbage-after-frame.svm.zst")
        #expect(r.error == .corruptInput(input: Self.bad("garbage-after-frame.svm.zst"), offset: 72, message: "corrupt zstd data: Unknown frame descriptor"))
        #expect(r.records.count == 10)
    }

    @Test func wrongMagicIsReadAsTextAndItsBytesAreBadRecords() {
        let loose = Self.read("wrong-magic.svm.zst")
        #expect(loose.error == nil)
        #expect(loose.records.isEmpty)
        #expect(loose.reader.statistics.recordsSkipped == loose.reader.statistics.lines)
        // Binary bytes are shown escaped, never raw.
        #expect(loose.diagnostics.first == "\(Self.bad("wrong-magic.svm.zst")):1: label \"(\\xB5/\\xFE\\x04X\\xDD\\x01\\x00d\\x02-1\" is not a number")
        let strict = Self.read("wrong-magic.svm.zst") { $0.strict = true }
        guard case .badRecord(_, 1, _) = strict.error else { Issue.record("\(String(describing: strict.error))"); return }
        #expect(strict.records.isEmpty)
    }

    @Test func truncatedGzipMemberDeliversItsCompleteLinesOnly() {
        let r = Self.read("truncated-member.svm.gz")
        #expect(r.error == .corruptInput(input: Self.bad("truncated-member.svm.gz"), offset: Self.size("truncated-member.svm.gz"),
                                         message: "truncated gzip stream (ends inside a member)"))
        // zlib hands out what it decoded of member 2: lines 10 and 11 are whole, the cut line 12 is dropped.
        #expect(Self.numbers(r.records) == (0..<12).map(Float.init))
    }

    @Test func corruptGzipHeader() {
        let r = Self.read("corrupt-member.svm.gz")
        #expect(r.error == .corruptInput(input: Self.bad("corrupt-member.svm.gz"), offset: 68, message: "corrupt gzip data: unknown compression method"))
        #expect(Self.numbers(r.records) == (0..<10).map(Float.init))
    }

    // MARK: text

    @Test func binaryGarbageAfterGoodLines() {
        let loose = Self.read("binary-garbage.svm")
        #expect(loose.error == nil)
        #expect(Self.numbers(loose.records) == [0, 1, 2])
        #expect(loose.reader.statistics.recordsSkipped > 10)
        #expect(loose.diagnostics.allSatisfy { !$0.unicodeScalars.contains { $0.value < 0x20 } })
        let strict = Self.read("binary-garbage.svm") { $0.strict = true }
        guard case .badRecord(_, 4, _) = strict.error else { Issue.record("\(String(describing: strict.error))"); return }
        #expect(Self.numbers(strict.records) == [0, 1, 2])
    }

    @Test func nanAndInfAreBadRecordsInEveryFormat() {
        let svm = Self.read("nan-inf.svm")
        #expect(svm.records.map(\.label) == [1, 0])
        #expect(svm.diagnostics.map { $0.replacingOccurrences(of: Self.bad("nan-inf.svm"), with: "") } == [
            ":2: non-finite value nan for feature 1",
            ":3: non-finite value inf for feature 2",
            ":4: non-finite value -Infinity for feature 3",
            ":5: label is not a finite number",
            ":6: bad weight in \"1:inf\" (the first field is label or label:weight)",
            ":7: non-finite value 1e39 for feature 1",
        ])
        let csv = Self.read("nan-inf.csv", format: .csv)
        #expect(csv.records.count == 2)
        #expect(csv.diagnostics.map { $0.replacingOccurrences(of: Self.bad("nan-inf.csv"), with: "") } == [
            ":3: column a: non-finite value", ":4: column b: non-finite value", ":5: column a: non-finite value",
            ":6: label is not a finite number",
        ])
        let jsonl = Self.read("nan-inf.jsonl", format: .jsonl)
        #expect(jsonl.records.count == 2)
        #expect(jsonl.diagnostics.map { $0.replacingOccurrences(of: Self.bad("nan-inf.jsonl"), with: "") } == [
            ":2: feature [0]: non-finite value", ":3: feature a: non-finite value", ":4: label is not a finite number",
        ])
        let vw = Self.read("nan-inf.vw", format: .vw)
        #expect(vw.records.count == 2)
        #expect(vw.diagnostics.map { $0.replacingOccurrences(of: Self.bad("nan-inf.vw"), with: "") } == [
            ":2: non-finite value in \"a:nan\"", ":3: non-finite value in \"b:inf\"", ":4: non-finite value in \"c:1e39\"",
            ":5: label is not a finite number",
        ])
        let strict = Self.read("nan-inf.svm") { $0.strict = true }
        #expect(strict.error == .badRecord(input: Self.bad("nan-inf.svm"), line: 2, reason: "non-finite value nan for feature 1"))
        #expect(strict.records.count == 1)
    }

    @Test func indicesBeyondTheDimensionLimit() {
        let r = Self.read("huge-index.svm")
        #expect(r.records.map(\.features.indices) == [[0], [16_777_215], [1]])
        #expect(r.diagnostics.map { $0.replacingOccurrences(of: Self.bad("huge-index.svm"), with: "") } == [
            ":3: feature index 16777216 (zero-based) is beyond the dimension limit 16777216 (--max-dimension)",
            ":4: feature index 4294967294 (zero-based) is beyond the dimension limit 16777216 (--max-dimension)",
            ":5: feature index 4294967296 too large (limit 4294967295)",
        ])
        let raised = Self.read("huge-index.svm") { $0.maxDimension = 1 << 32 }
        #expect(raised.records.count == 5)
        let strict = Self.read("huge-index.svm") { $0.strict = true }
        guard case .badRecord(_, 3, _) = strict.error else { Issue.record("\(String(describing: strict.error))"); return }
        #expect(strict.records.count == 2)
        // VW's hashed space is always allowed.
        let vw = TestSupport.parse("1 |f a b c\n", format: .vw) {
            $0.hashBits = 26
            $0.maxDimension = 16
        }
        #expect(vw.records.count == 1)
    }

    @Test func labelsAModelDoesNotHaveAreBadRecordsWhenClassesAreFixed() {
        var binary = LabelMap()
        _ = try! binary.label(numeric: -1, text: "-1")
        _ = try! binary.label(numeric: 1, text: "1")
        let fixed = Self.read("unseen-label.svm") {
            $0.initialLabels = binary
            $0.fixedClasses = true
        }
        #expect(Self.numbers(fixed.records) == [1, 2, 4, 6])
        #expect(fixed.records.map(\.position) == [0, 1, 2, 3])
        #expect(fixed.reader.labels == binary)
        #expect(fixed.diagnostics.map { $0.replacingOccurrences(of: Self.bad("unseen-label.svm"), with: "") } == [
            ":3: label 5 is not a class of the model (classes: -1, 1)",
            ":5: label 7 is not a class of the model (classes: -1, 1)",
        ])
        // Without fixed classes a stream may bring new ones.
        let open = Self.read("unseen-label.svm") { $0.initialLabels = binary }
        #expect(open.records.count == 6)
        #expect(open.reader.labels.classCount == 8)
        // String labels: "bird" is not one of a cat/dog model's classes.
        var pets = LabelMap()
        _ = try! pets.label(string: "cat")
        _ = try! pets.label(string: "dog")
        let csv = Self.read("unseen-label.csv", format: .csv) {
            $0.initialLabels = pets
            $0.fixedClasses = true
        }
        #expect(csv.records.map(\.label) == [0, 1, 0])
        #expect(csv.diagnostics.first?.hasSuffix(":4: label bird is not a class of the model (classes: cat, dog)") == true)
        let strict = Self.read("unseen-label.svm") {
            $0.initialLabels = binary
            $0.fixedClasses = true
            $0.strict = true
        }
        #expect(strict.error == .badRecord(input: Self.bad("unseen-label.svm"), line: 3, reason: "label 5 is not a class of the model (classes: -1, 1)"))
        #expect(strict.records.count == 2)
    }

    @Test func invalidUTF8InCSVAndJSON() {
        let csv = Self.read("invalid-utf8.csv", format: .csv)
        // \xFF and \xFE would both have decoded to U+FFFD, one class: they are refused instead.
        #expect(csv.records.map(\.label) == [0, 1])
        #expect(csv.reader.labels.names == ["cat", "dog"])
        #expect(csv.diagnostics.map { $0.replacingOccurrences(of: Self.bad("invalid-utf8.csv"), with: "") } == [
            ":3: field 1: invalid UTF-8", ":4: field 1: invalid UTF-8",
        ])
        // A header that is not UTF-8 is a bad line; the next line is then the first one (data here).
        let header = Self.read("invalid-utf8-header.csv", format: .csv)
        #expect(header.diagnostics.first?.hasSuffix(":1: field 2: invalid UTF-8") == true)
        #expect(header.records.count == 1)
        let jsonl = Self.read("invalid-utf8.jsonl", format: .jsonl)
        #expect(jsonl.reader.labels.names == ["cat", "é"])
        #expect(jsonl.diagnostics.map { $0.replacingOccurrences(of: Self.bad("invalid-utf8.jsonl"), with: "") } == [
            ":2: invalid UTF-8 in the string at column 11", ":3: invalid UTF-8 in the string at column 31",
        ])
    }

    @Test func csvLabelColumnThatIsNotThereIsABadRecordPerLineNotACrash() {
        let r = Self.read("invalid-utf8.csv", format: .csv) { $0.csv.labelColumn = "nosuch" }
        #expect(r.error == nil)
        #expect(r.records.isEmpty)
        #expect(r.reader.statistics.recordsSkipped == 5)
    }

    @Test(arguments: ["empty.svm", "empty.svm.zst", "empty.svm.gz", "blank-lines.svm"])
    func emptyInputIsZeroRecordsNotAnError(name: String) {
        for strict in [false, true] {
            let r = Self.read(name) { $0.strict = strict }
            #expect(r.error == nil)
            #expect(r.records.isEmpty)
            #expect(r.reader.statistics.recordsSkipped == 0)
            #expect(r.reader.statistics.inputsOpened == 1)
        }
    }

    // MARK: a 10 MB line (generated: committing it would cost 10 MB)

    @Test func tenMegabyteLinePlainAndCompressed() {
        var long = "1"
        var i = 0
        while long.utf8.count < 10 << 20 {
            i += 1
            long += " \(i):1"
        }
        let text = "1 1:1\n\(long)\n-1 2:1\n"
        let dir = TestSupport.temporaryDirectory()
        let plain = dir.appendingPathComponent("long.svm"), zst = dir.appendingPathComponent("long.svm.zst")
        TestSupport.write(Array(text.utf8), to: plain)
        TestSupport.write(TestSupport.zstd(text), to: zst)
        for file in [plain, zst] {
            let r = TestSupport.readAll([.file(file.path)])
            #expect(r.error == nil)
            #expect(r.records.map(\.features.nonzeroCount) == [1, i, 1], "\(file.lastPathComponent)")
            // Over the line limit: one bad record, and the lines around it are intact.
            var o = ReaderOptions()
            o.maxLineLength = 1 << 20
            let limited = TestSupport.readAll([.file(file.path)], options: o)
            #expect(limited.error == nil)
            #expect(limited.records.map(\.label) == [1, 0])
            #expect(limited.diagnostics == ["\(file.path):2: line longer than 1048576 bytes"])
            o.strict = true
            let strict = TestSupport.readAll([.file(file.path)], options: o)
            #expect(strict.error == .badRecord(input: file.path, line: 2, reason: "line longer than 1048576 bytes"))
            #expect(strict.records.count == 1)
        }
    }
}
