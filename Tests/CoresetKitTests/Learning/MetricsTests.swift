import Testing
@testable import CoresetKit

extension LearningTests {
    @Suite struct MetricsTests {
        @Test func aucHandComputed() {
            // scikit-learn's roc_auc_score example: 3 of 4 positive/negative pairs ordered correctly.
            var auc = AUC()
            for (s, y) in zip([0.1, 0.4, 0.35, 0.8], [0.0, 0, 1, 1]) { auc.update(score: s, label: y) }
            #expect(abs(auc.value - 0.75) < 1e-12)
            // Ties count one half: pos {0.5, 0.9}, neg {0.5, 0.2}: pairs (0.5,0.5)=½, (0.5,0.2)=1, (0.9,·)=2 → 3.5/4.
            var tied = AUC()
            for (s, y) in zip([0.5, 0.9, 0.5, 0.2], [1.0, 1, 0, 0]) { tied.update(score: s, label: y) }
            #expect(abs(tied.value - 0.875) < 1e-12)
            // A weight of 2 equals a duplicate.
            var w = AUC(), dup = AUC()
            w.update(score: 0.3, label: 1, weight: 2)
            dup.update(score: 0.3, label: 1)
            dup.update(score: 0.3, label: 1)
            for (s, y) in zip([0.1, 0.5], [0.0, 0]) {
                w.update(score: s, label: y)
                dup.update(score: s, label: y)
            }
            #expect(w.value == dup.value && abs(w.value - 0.5) < 1e-12)
            #expect(AUC().value.isNaN)
        }

        @Test func evaluatorBinary() {
            var e = Evaluator(loss: .logistic)
            e.update(outputs: [0], label: 1)
            e.update(outputs: [2], label: 1)
            e.update(outputs: [-1], label: 0)
            e.update(outputs: [1], label: 0)
            let s = e.summary
            #expect(s.count == 4)
            #expect(abs(s.accuracy - 0.5) < 1e-12)  // z=0 predicts class 0
            let expected = (Loss.softplus(0) + Loss.softplus(-2) + Loss.softplus(-1) + Loss.softplus(1)) / 4
            #expect(abs(s.logLoss - expected) < 1e-12 && abs(s.loss - expected) < 1e-12)
            #expect(abs(s.auc - 0.75) < 1e-12)
            var reg = Evaluator(loss: .squared)
            reg.update(outputs: [1], label: 3)
            reg.update(outputs: [0], label: 0)
            #expect(reg.summary.squaredError == 2 && reg.summary.accuracy.isNaN)
        }

        @Test func progressiveValidationRowsAtDoublings() {
            var pv = ProgressiveValidation()
            var rows: [ProgressiveValidation.Row] = []
            for i in 1...10 {
                if let row = pv.update(Scored(loss: Double(i), prediction: 1, score: 0), label: i % 2 == 0 ? 1 : 0) {
                    rows.append(row)
                }
            }
            #expect(rows.map(\.exampleCount) == [1, 2, 4, 8])
            #expect(rows[2].averageLoss == 2.5)  // (1+2+3+4)/4
            #expect(rows[2].sinceLast == 3.5)  // (3+4)/2
            #expect(rows[3].sinceLast == 6.5)  // (5+6+7+8)/4
            #expect(abs(pv.accuracy - 0.5) < 1e-12)
            let last = pv.takeRow()
            #expect(last.exampleCount == 10 && last.sinceLast == 9.5)
        }

        @Test func weightedMeanRevert() {
            var m = WeightedMean()
            m.update(1, weight: 1)
            m.update(5, weight: 3)
            #expect(m.value == 4)
            m.revert(5, weight: 3)
            #expect(m.value == 1)
        }
    }
}
