import Foundation
import Testing
@testable import CoresetKit

/// Issue 28: input that used to be read as something else, silently.
@Suite struct SilentMergeTests {
    @Test func loneSurrogatesAreBadRecordsAndPairsAndReplacementCharactersAreDistinctLabels() {
        let text = #"""
            {"label": "\ud800", "features": [1]}
            {"label": "\udbff", "features": [1]}
            {"label": "\udc00", "features": [1]}
            {"label": "\ud800x", "features": [1]}
            {"label": "\ufffd", "features": [1]}
            {"label": "\ud83d\ude00", "features": [1]}
            {"label": "a", "features": [1]}
            {"label": "\ufffd", "features": [1]}
            """#
        let r = TestSupport.parse(text, format: .jsonl)
        #expect(r.reader.statistics.recordsSkipped == 4)
        #expect(r.diagnostics.count == 4)
        #expect(r.diagnostics[0].contains(":1: invalid JSON at column 12: lone UTF-16 surrogate \\uD800 in a string"), "\(r.diagnostics)")
        #expect(r.diagnostics[1].contains(":2: invalid JSON at column 12: lone UTF-16 surrogate \\uDBFF"))
        #expect(r.diagnostics[2].contains(":3: invalid JSON at column 12: lone UTF-16 surrogate \\uDC00"))
        #expect(r.diagnostics[3].contains(":4: invalid JSON at column 12: lone UTF-16 surrogate \\uD800"))
        // U+FFFD, U+1F600 and "a" are three labels; the second U+FFFD is the first's class.
        #expect(r.records.map(\.label) == [0, 1, 2, 0])
        #expect(r.reader.labels.name(of: 0) == "\u{FFFD}")
        #expect(r.reader.labels.name(of: 1) == "\u{1F600}")
    }

    @Test func aLibsvmLineWithAnEmptyLabelIsABadRecord() {
        let r = TestSupport.parse(" 1:1\n\t2:5 3:1\n1:2 1:1\n  -1 1:1\n1:1\n")
        // ` 1:1` and `\t2:5 3:1` have no label; `1:2 1:1` is label 1 of weight 2, `  -1 1:1` a record
        // with leading blanks, `1:1` label 1 of weight 1 without features.
        #expect(r.reader.statistics.recordsSkipped == 2)
        #expect(r.diagnostics.count == 2)
        #expect(r.diagnostics[0].contains(":1: missing label: the line starts with a blank, then \"1:1\", a feature"), "\(r.diagnostics)")
        #expect(r.diagnostics[1].contains(":2: missing label"))
        #expect(r.records.count == 3)
        #expect(r.records.map(\.weight) == [2, 1, 1])
    }
}
