import Testing
@testable import CoresetKit

@Suite struct SaturatedCosineTests {
    func record(_ pairs: [(UInt32, Float)], position: UInt64 = 0) -> Record {
        Record(label: 0, features: FeatureVector(indices: pairs.map(\.0), values: pairs.map(\.1)), weight: 1, position: position)
    }

    @Test func similarityIsCappedAboveTheThresholdAndHasNoFloor() {
        let f = FacilityLocation(similarity: .saturatedCosine(threshold: 0.5), scale: 1)
        let a = record([(0, 1)])
        let orthogonal = record([(1, 1)])
        let close = record([(0, 1), (1, 1)])  // cos = 0.707 >= 0.5: saturated
        let far = record([(0, 1), (1, 3)])  // cos = 0.316 < 0.5: scaled, 0.316 / 0.5
        #expect(f.similarity(a, a) == 1)
        #expect(f.similarity(a, orthogonal) == 0)
        #expect(abs(f.similarity(a, close) - (0.98 + 0.02 * 0.5.squareRoot())) < 1e-6)
        let c = 1 / 10.0.squareRoot()
        #expect(abs(f.similarity(a, far) - (0.98 * c / 0.5 + 0.02 * c)) < 1e-6)
        // Among saturated elements the more similar one is still strictly more similar.
        #expect(f.similarity(a, a) > f.similarity(a, close))
        #expect(f.similarity(close, orthogonal) > 0.98)
        #expect(FacilityLocation(similarity: .saturatedCosine(threshold: 0.5), scale: 1).similarity == .saturatedCosine(threshold: 0.5))
        #expect(SelectorConfiguration(k: 1, similarity: .saturatedCosine(threshold: 0)).validationError() != nil)
    }

    @Test func saturationSpreadsTheBudgetOverKinds() {
        // Two kinds: a big one with two close variants (cos 0.8 between them) and a small distinct one.
        // Plain cosine spends the second pick on the big kind's second variant; saturated at 0.6, the
        // variants count as one and the small kind gets the pick.
        var data: [Record] = []
        for i in 0..<40 { data.append(record([(0, 1), (1, i % 2 == 0 ? 0.5 : 0), (2, i % 2 == 1 ? 0.5 : 0)].filter { $0.1 > 0 }, position: UInt64(i))) }
        for i in 0..<3 { data.append(record([(5, 1), (6, 0.2)], position: UInt64(40 + i))) }
        let plain = FacilityLocation(similarity: .cosine, scale: 1).greedy(candidates: data, ground: data, budget: 2)
        let saturated = FacilityLocation(similarity: .saturatedCosine(threshold: 0.6), scale: 1).greedy(candidates: data, ground: data, budget: 2)
        #expect(plain.allSatisfy { $0 < 40 })
        #expect(saturated.contains { $0 >= 40 })
    }
}
