import Testing
@testable import CoresetKit

/// Larger real data sets from ../shared/data (CI has them; a fresh clone alone does not: then these skip).
@Suite struct SharedDataTests {
    static let census = TestSupport.sharedFile("census_kdd/census_kdd.train.svm.zst")
    static let letter = TestSupport.sharedFile("letter/letter.all.svm.zst")

    @Test(.enabled(if: census != nil, "../shared/data/census_kdd is absent: skipped"))
    func censusTrainStreamReadsInFull() throws {
        let r = TestSupport.readAll([.file(Self.census!)])
        #expect(r.error == nil)
        #expect(r.reader.statistics.recordsAccepted == 199_523)
        #expect(r.reader.statistics.recordsSkipped == 0)
        var summary = StreamSummary(regression: false)
        summary.add(RecordBatch(r.records))
        #expect(summary.dimension <= 510)
        #expect(summary.nonzeros == 7_031_753)
        #expect(summary.classCounts == [187_141, 12_382])
    }

    @Test(.enabled(if: letter != nil, "../shared/data/letter is absent: skipped"))
    func letterCoresetKeepsEveryClassWeight() throws {
        // 26 classes, 20,000 records: the selector's per-class totals equal the stream's.
        let r = TestSupport.readAll([.file(Self.letter!)])
        #expect(r.records.count == 20_000)
        let selector = CoresetSelector(configuration: SelectorConfiguration(k: 260, referenceSize: 200, warmUp: 200), task: .multiclass)
        selector.offer(RecordBatch(r.records))
        selector.finish()
        let coreset = selector.coreset
        #expect(coreset.count == 260)
        var counts = [Double](repeating: 0, count: 26)
        for rec in r.records { counts[Int(rec.label)] += rec.weight }
        for c in 0..<26 { #expect(abs(coreset.totalWeight(ofClass: c) - counts[c]) < 1e-6) }
    }
}
