import Testing
@testable import CoresetKit

/// `train --halving`'s second stage as a library value: which rows go on, and the sample they train on.
@Suite struct HalvingStageTests {
    static func rows(_ scores: [Double]) -> [SweepRow] {
        scores.enumerated().map { i, score in
            SweepRow(index: i, setting: SweepSetting(configuration: LearnerConfiguration(task: .binary), epochs: 1),
                     holdout: EvaluationSummary(), seconds: 0, score: score)
        }
    }

    static func records(_ n: Int) -> [Record] {
        (0..<n).map { Record(label: Double($0 % 2), features: FeatureVector(dense: [Float($0)]), position: UInt64($0)) }
    }

    @Test func keepsTheBestQuarterOnASampleFourTimesTheSubset() throws {
        let stage = try #require(HalvingStage(after: Self.rows([0.5, .nan, 0.2, 0.4, 0.2, 0.9, 0.3, 0.8]), subsetCount: 10,
                                              full: Self.records(1000), seed: 7))
        // A quarter of 8, best first, ties in grid order; NaN never before a score.
        #expect(stage.kept.map(\.index) == [2, 4])
        #expect(stage.firstStageBest.index == 2)
        #expect(stage.sample.count == 40)
        let positions = stage.sample.map(\.position)
        #expect(positions == positions.sorted() && Set(positions).count == 40)
        #expect(stage.l2Scale(fullCount: 1000) == 25)
        // The same seed draws the same sample; another seed another.
        #expect(HalvingStage(after: Self.rows([0.5, 0.2]), subsetCount: 10, full: Self.records(1000), seed: 7)!.sample.map(\.position) == positions)
        #expect(HalvingStage(after: Self.rows([0.5, 0.2]), subsetCount: 10, full: Self.records(1000), seed: 8)!.sample.map(\.position) != positions)
    }

    @Test func isSkippedWhereItCannotPay() {
        // The sample would be more than half of the full data, or there is nothing to choose between.
        #expect(HalvingStage(after: Self.rows([0.5, 0.2, 0.3]), subsetCount: 126, full: Self.records(1000), seed: 1) == nil)
        #expect(HalvingStage(after: Self.rows([0.5, 0.2, 0.3]), subsetCount: 125, full: Self.records(1000), seed: 1) != nil)
        #expect(HalvingStage(after: Self.rows([0.5]), subsetCount: 10, full: Self.records(1000), seed: 1) == nil)
        #expect(HalvingStage(after: Self.rows([0.5, 0.2]), subsetCount: 0, full: Self.records(1000), seed: 1) == nil)
    }
}
