import Foundation
import Testing
@testable import CoresetKit

/// Issue 24: coreset files that other tools read (scikit-learn, XGBoost, VW, any JSON parser), with one
/// feature numbering in every format, and coreset still reading its own and older files.
@Suite struct CoresetFormatTests {
    static func labels(_ texts: [String], regression: Bool = false) throws -> LabelMap {
        var labels = LabelMap(regression: regression)
        for t in texts {
            if let v = Double(t), v.isFinite { _ = try labels.label(numeric: v, text: t) } else { _ = try labels.label(string: t) }
        }
        return labels
    }

    static func text(_ format: CoresetFormat, _ labels: LabelMap, _ elements: [(Record, Double)], dimension: Int = 6) throws -> String {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("c").path
        let file = try AtomicFile(path: path)
        try CoresetWriter(format: format, labels: labels, dimension: dimension).write(elements.map { (record: $0.0, weight: $0.1) }, to: file.output)
        try file.commit()
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    static let record = Record(label: 1, features: FeatureVector(indices: [0, 4], values: [0.5, 2]), position: 7)

    @Test func featureNumbersStartAtOneInEveryFormat() throws {
        let labels = try Self.labels(["-1", "+1"])
        let e = [(Self.record, 2.5)]
        #expect(try Self.text(.libsvm, labels, e) == "+1 1:0.5 5:2 # id=7 weight=2.5\n")
        #expect(try Self.text(.vw, labels, e) == "+1 2.5 '7 | 1:0.5 5:2\n")
        #expect(try Self.text(.jsonl, labels, e) == "{\"id\":7,\"label\":1,\"weight\":2.5,\"indices\":[1,5],\"values\":[0.5,2]}\n")
        #expect(try Self.text(.csv, labels, e) == "id,label,weight,f1,f2,f3,f4,f5,f6\n7,+1,2.5,0.5,0,0,0,2,0\n")
    }

    /// Every line of JSON Lines output parses with Foundation's strict parser, whatever the labels.
    @Test(arguments: [["+1", "-1"], ["1.0", "0"], ["1e0", "2"], ["cat", "say \"hi\"\t\u{1}\\"], ["inf", "nan"], ["0x10", "+5"]])
    func jsonLinesAreStrictJSON(_ names: [String]) throws {
        let labels = try Self.labels(names)
        var elements: [(Record, Double)] = []
        for c in 0..<labels.classCount where !labels.names[c].isEmpty {
            elements.append((Record(label: Double(c), features: FeatureVector(indices: [0, 3], values: [1e-7, -3.25e20]), position: UInt64(c)), 1e-300))
        }
        let text = try Self.text(.jsonl, labels, elements)
        for line in text.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["weight"] as? Double == 1e-300, "\(line)")
        }
        // And reads back to the same classes.
        var reader = CoresetFileReader(format: .jsonl)
        let back = try reader.parse(Array(text.utf8), name: "c")
        #expect(back.elements.map(\.classIndex) == elements.map { Int($0.0.label) })
        #expect(back.elements.map(\.record.features) == elements.map(\.0.features))
    }

    @Test func regressionTargetsAreJSONNumbers() throws {
        let labels = LabelMap(regression: true)
        let text = try Self.text(.jsonl, labels, [(Record(label: -0.125, features: FeatureVector(indices: [1], values: [1]), position: 0), 1)])
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(object?["label"] as? Double == -0.125)
    }

    @Test func libsvmCoresetsOfEveryVersionReadBack() throws {
        // Current: plain label, weight in the comment; coreset 0.1: XGBoost's label:weight.
        for text in ["1 1:0.5 5:2 # id=7 weight=2.5\n-1 2:1 # id=9 weight=4\n", "1:2.5 1:0.5 5:2 # id=7\n-1:4 2:1 # id=9\n"] {
            var reader = CoresetFileReader()
            let c = try reader.parse(Array(text.utf8), name: "c")
            #expect(c.elements.map(\.id) == [7, 9])
            #expect(c.elements.map(\.weight) == [2.5, 4])
            #expect(c.elements[0].record.features == Self.record.features)
        }
        // The training reader takes the weight from the comment too (train and run on a coreset).
        let r = TestSupport.parse("1 1:0.5 # id=7 weight=2.5\n-1 2:1 # note weight=x\n1 1:1 # no weight here\n")
        #expect(r.records.map(\.weight) == [2.5, 1])
        #expect(r.diagnostics.first?.contains(":2: bad weight \"weight=x\" in the comment") == true, "\(r.diagnostics)")
    }

    @Test func vwCoresetsNumberFromOneAndOldOnesReadWithZeroBased() throws {
        var reader = CoresetFileReader(format: .vw)
        let c = try reader.parse(Array("1 2.5 '7 | 1:0.5 5:2\n".utf8), name: "c")
        #expect(c.elements[0].record.features == Self.record.features)
        #expect(throws: CoresetError.badRecord(input: "c", line: 1, reason: "feature 0 in a coreset numbered from 1 (a VW coreset of coreset 0.1 numbers from 0: read it with --zero-based)")) {
            _ = try reader.parse(Array("1 2.5 '7 | 0:0.5 4:2\n".utf8), name: "c")
        }
        var options = ReaderOptions()
        options.zeroBasedIndices = true
        var old = CoresetFileReader(format: .vw, options: options)
        #expect(try old.parse(Array("1 2.5 '7 | 0:0.5 4:2\n".utf8), name: "c").elements[0].record.features == Self.record.features)
        var oldJSON = CoresetFileReader(format: .jsonl, options: options)
        let j = try oldJSON.parse(Array("{\"id\":7,\"label\":1,\"weight\":2.5,\"indices\":[0,4],\"values\":[0.5,2]}\n".utf8), name: "c")
        #expect(j.elements[0].record.features == Self.record.features)
        // Indices past 2^18 are kept as written, not masked by the hash bits of VW names.
        let wide = try reader.parse(Array("1 1 '0 | 262144:1\n".utf8), name: "c")
        #expect(wide.elements[0].record.features.indices == [262_143])
    }
}
