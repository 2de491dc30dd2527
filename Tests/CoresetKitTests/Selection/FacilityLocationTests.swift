import Foundation
import Testing
@testable import CoresetKit

@Suite struct SelectionFacilityLocationTests {
    @Test func lazyGreedyPicksExactlyWhatNaiveGreedyPicks() {
        for seed in UInt64(1)...8 {
            let data = SelectionFixtures.blobs(n: 120, dim: 6, classes: 3, seed: seed)
            for sim in [SelectorConfiguration.Similarity.euclidean, .cosine, .rbf(gamma: nil)] {
                let f = FacilityLocation.fitted(sim, sample: Array(data.prefix(50)))
                let pts = data.map { f.kernel.point($0, arrival: 0) }
                let fill: (Int, inout [Float]) -> Void = { i, row in
                    for j in 0..<pts.count { row[j] = f.kernel.similarity(pts[i], pts[j]) }
                }
                var c1 = [Float](repeating: 0, count: pts.count), c2 = c1
                let lazy = _Greedy.lazy(candidateCount: pts.count, groundCount: pts.count, budget: 15, cover: &c1, fillRow: fill)
                let naive = _Greedy.naive(candidateCount: pts.count, groundCount: pts.count, budget: 15, cover: &c2, fillRow: fill)
                #expect(lazy == naive)
                #expect(f.greedy(candidates: data, ground: data, budget: 15) == naive)
            }
        }
    }

    @Test func greedyReachesOneMinusOneOverEOfBruteForceOptimum() {
        for seed in UInt64(1)...15 {
            let data = SelectionFixtures.blobs(n: 11, dim: 3, classes: 1, seed: seed)
            let f = FacilityLocation.fitted(.euclidean, sample: data)
            for k in 1...4 {
                let opt = SelectionFixtures.bruteForceOptimum(data, k: k, objective: f)
                let picks = f.greedy(candidates: data, ground: data, budget: k).map { data[$0] }
                let v = f.evaluate(selected: picks, on: data, perClass: false)
                #expect(v >= (1 - 1 / M_E) * opt - 1e-6)
            }
        }
    }

    @Test func gradientSpaceDistanceEqualsExplicitOuterProductDistance() {
        for (classes, sparse) in [(2, false), (3, false), (4, true)] {
            let data = SelectionFixtures.blobs(n: 12, dim: 5, classes: classes, seed: 7, sparse: sparse)
            let dim = 15
            let model = TestLinearModel.random(classes: classes, dim: dim, seed: 3)
            let kernel = _Kernel(kind: .euclidean(scale: 1), embedding: model)
            for a in data {
                for b in data {
                    let ga = model.explicitGradient(a, dim: dim), gb = model.explicitGradient(b, dim: dim)
                    var d2 = 0.0
                    for i in ga.indices { d2 += (ga[i] - gb[i]) * (ga[i] - gb[i]) }
                    let got = kernel.distance2(kernel.point(a, arrival: 0), kernel.point(b, arrival: 0))
                    #expect(abs(got - d2) <= 1e-4 * max(1, d2))
                }
            }
        }
    }

    @Test func gradientErrorIsZeroForTheFullDataAndMatchesExplicitSum() {
        let data = SelectionFixtures.blobs(n: 40, dim: 4, classes: 3, seed: 2)
        let model = TestLinearModel.random(classes: 3, dim: 4, seed: 5)
        let full = data.map { ($0, $0.weight) }
        #expect(FacilityLocation.gradientError(data: data, coreset: full, embedding: model) < 1e-9)
        let sub = [(record: data[0], weight: 40.0)]
        var diff = [Double](repeating: 0, count: 3 * 5)
        for r in data { for (i, v) in model.explicitGradient(r, dim: 4).enumerated() { diff[i] += v } }
        for (i, v) in model.explicitGradient(data[0], dim: 4).enumerated() { diff[i] -= 40 * v }
        let expected = diff.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(FacilityLocation.gradientError(data: data, coreset: sub, embedding: model) - expected) < 1e-6 * expected)
    }
}
