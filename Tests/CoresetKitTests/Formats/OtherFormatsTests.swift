import Testing
@testable import CoresetKit

@Suite struct CSVParserTests {
    @Test func headerWithLabelColumnByName() {
        let r = TestSupport.parse("a,b,label,c\n1,2,yes,3\n4,,no,6\r\n", format: .csv)
        #expect(r.error == nil)
        #expect(r.records.count == 2)
        #expect(r.records[0].label == 0)
        #expect(r.records[1].label == 1)
        #expect(r.records[0].features.indices == [0, 1, 2])
        #expect(r.records[0].features.values == [1, 2, 3])
        // An empty field is missing: nothing stored.
        #expect(r.records[1].features.indices == [0, 2])
        #expect(r.reader.context.featureNames == ["a", "b", "c"])
        #expect(r.reader.labels.name(of: 1) == "no")
    }

    @Test func noHeaderLabelByPositionAndQuotes() {
        let r = TestSupport.parse("1.5,\"2\",+1\n\"3\" , 4,-1\n", format: .csv) {
            $0.csv = CSVOptions(header: false, labelColumn: "2")
        }
        #expect(r.error == nil)
        #expect(r.records.map(\.label) == [1, 0])
        #expect(r.records[1].features.values == [3, 4])
    }

    @Test func wrongFieldCountAndNonNumbersAreBadRecords() {
        let r = TestSupport.parse("label,x,y\n1,2,3\n1,2\n0,abc,1\n0,1,1\n", format: .csv)
        #expect(r.records.count == 2)
        #expect(r.reader.statistics.recordsSkipped == 2)
        #expect(r.diagnostics[0].hasSuffix(":3: expected 3 fields, found 2"))
        #expect(r.diagnostics[1].contains(":4: column x: \"abc\" is not a number"))
    }

    @Test func tabDelimited() {
        let r = TestSupport.parse("y\tf\n2.5\t1\n", format: .csv) {
            $0.csv.delimiter = 0x09
            $0.regression = true
        }
        #expect(r.records.first?.label == 2.5)
    }
}

@Suite struct JSONLinesParserTests {
    @Test func denseNamedAndFlatShapes() {
        let text = """
            {"label": 1, "features": [0.5, 0, 2], "weight": 3}
            {"label": -1, "features": {"height": 1.5, "age": 2}}
            {"age": 7, "label": 1, "height": null}

            """
        let r = TestSupport.parse(text, format: .jsonl)
        #expect(r.error == nil)
        #expect(r.records.count == 3)
        #expect(r.records[0].weight == 3)
        #expect(r.records[0].features.values == [0.5, 0, 2])
        #expect(r.records[1].label == 0)
        #expect(r.reader.context.featureNames == ["height", "age"])
        #expect(r.records[1].features.indices == [0, 1])
        #expect(r.records[2].features.indices == [1])
        #expect(r.records[2].features.values == [7])
    }

    @Test func stringLabelsAndErrors() {
        let text = """
            {"label": "cat", "features": [1]}
            {"label": "dog", "features": [2]}
            {"label": "cat", "features": [1
            {"features": [1]}
            {"label": "dog", "features": ["x"]}
            {"label": "cat", "features": [1]} trailing
            """
        let r = TestSupport.parse(text, format: .jsonl)
        #expect(r.records.map(\.label) == [0, 1])
        #expect(r.reader.statistics.recordsSkipped == 4)
        #expect(r.diagnostics[0].contains(":3: invalid JSON"))
        #expect(r.diagnostics[1].contains(":4: missing \"label\""))
        #expect(r.diagnostics[2].contains(":5: feature [0]: value is not a number"))
        #expect(r.diagnostics[3].contains(":6: text after the JSON object"))
    }
}

@Suite struct VWParserTests {
    @Test func murmurMatchesReferenceVectors() {
        func h(_ s: String, _ seed: UInt32) -> UInt32 {
            Array(s.utf8).withUnsafeBufferPointer { VWParser.murmur3($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count, seed: seed) }
        }
        // Reference values of MurmurHash3_x86_32.
        #expect(h("", 0) == 0)
        #expect(h("", 1) == 0x514E_28B7)
        #expect(h("hello", 0) == 0x248B_FA47)
        #expect(h("Hello, world!", 1234) == 0xFAF6_CDB3)
    }

    @Test func labelImportanceTagNamespacesAndValues() {
        let r = TestSupport.parse("1 2.5 'tag1|user age:3 clicks |ad:0.5 x:4\n-1 |user age:1\n", format: .vw) { $0.hashBits = 18 }
        #expect(r.error == nil)
        #expect(r.records.count == 2)
        #expect(r.records[0].weight == 2.5)
        #expect(r.records[0].label == 1)
        #expect(r.records[1].label == 0)
        #expect(r.records[0].features.nonzeroCount == 3)
        #expect(r.records[0].features.values.sorted() == [1, 2, 3])
        // The same feature in the same namespace hashes to the same index.
        let ageIndex = r.records[1].features.indices[0]
        #expect(r.records[0].features[Int(ageIndex)] == 3)
        #expect(r.records[0].features.indices.allSatisfy { $0 < 1 << 18 })
    }

    @Test func tagOnlyAndBadWeight() {
        let r = TestSupport.parse("1 'only_tag |f a\n1 -2 |f a\n|f a\n", format: .vw)
        #expect(r.records.count == 1)
        #expect(r.records[0].weight == 1)
        #expect(r.diagnostics[0].contains(":2: importance weight \"-2\""))
        #expect(r.diagnostics[1].contains(":3: missing label"))
    }
}
