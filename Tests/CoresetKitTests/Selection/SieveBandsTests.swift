import Foundation
import Testing
@testable import CoresetKit

/// `_SieveBands`: rejecting a band of sieves by the minimum of their covers decides exactly what the
/// per-sieve tests decide, through reservoir replacements, model snapshots (re-selections), read-outs
/// and checkpoints.
@Suite struct SieveBandsTests {
    static let data = SelectionFixtures.blobs(n: 2400, dim: 14, classes: 4, seed: 77, sparse: true, randomWeights: true)
    static let models: [Int: LinearModelSnapshot] = [
        500: SelectorStateTests.snapshot(Array(data[..<500]), classes: 4, version: 1),
        1500: SelectorStateTests.snapshot(Array(data[..<1500].reversed()), classes: 4, version: 2),
    ]

    static func config(_ algorithm: SelectorConfiguration.Algorithm, _ space: SelectorConfiguration.Space) -> SelectorConfiguration {
        // A small reservoir (many replacements late in the stream) and ε = 0.05 (many sieves per band).
        SelectorConfiguration(k: 40, algorithm: algorithm, epsilon: 0.05, space: space, referenceSize: 40, warmUp: 30)
    }

    @Test(arguments: [SelectorConfiguration.Algorithm.sieveStreaming, .sieveStreamingPlusPlus],
          [SelectorConfiguration.Space.feature, .gradient])
    func bandsDecideExactlyAsEverySieveAlone(_ algorithm: SelectorConfiguration.Algorithm, _ space: SelectorConfiguration.Space) throws {
        let cfg = Self.config(algorithm, space)
        let banded = CoresetSelector(configuration: cfg, task: .multiclass)
        let plain = CoresetSelector(configuration: cfg, task: .multiclass)
        plain.usesSieveBands = false
        var i = 0
        while i < Self.data.count {
            if space == .gradient, let m = Self.models[i] {
                _ = banded.updateModel(m)
                _ = plain.updateModel(m)
            }
            let batch = RecordBatch(Self.data[i..<min(Self.data.count, i + 50)])
            banded.offer(batch)
            plain.offer(batch)
            i += 50
            // The whole state (sieves' members, covers, values; store; references) after every batch.
            #expect(try banded.encodedState() == plain.encodedState(), "after \(i) records")
            if i == 1200 { #expect(banded.coreset.elements.map(\.weight) == plain.coreset.elements.map(\.weight)) }
        }
        banded.finish()
        plain.finish()
        #expect(try banded.encodedState() == plain.encodedState())
        // Not vacuous: bands decided many of the tests, and never without them.
        let decided = banded.classes.compactMap { $0?.bandRejections }.reduce(0, +)
        #expect(decided > 1000, "band rejections: \(decided)")
        #expect(plain.classes.compactMap { $0?.bandRejections }.reduce(0, +) == 0)
        if space == .gradient { #expect(banded.reselectionCount >= 1) }
    }

    @Test func aRestoredSelectorRebuildsItsBands() throws {
        let cfg = Self.config(.sieveStreamingPlusPlus, .feature)
        let a = CoresetSelector(configuration: cfg, task: .multiclass)
        a.offer(RecordBatch(Self.data[..<1300]))
        let b = try CoresetSelector(restoring: a.encodedState(), configuration: cfg, task: .multiclass)
        let rest = RecordBatch(Self.data[1300...])
        a.offer(rest)
        b.offer(rest)
        #expect(try a.encodedState() == b.encodedState())
    }

    @Test func bandsFollowLevelsAcrossZero() {
        let w = _SieveBands.width
        #expect(_SieveBands.band(ofLevel: 0) == 0)
        #expect(_SieveBands.band(ofLevel: w - 1) == 0)
        #expect(_SieveBands.band(ofLevel: w) == 1)
        #expect(_SieveBands.band(ofLevel: -1) == -1)
        #expect(_SieveBands.band(ofLevel: -w) == -1)
        #expect(_SieveBands.band(ofLevel: -w - 1) == -2)
    }

    @Test func minimaFollowEveryCoverChange() {
        var g = SeededGenerator(seed: 3)
        func u() -> Float { Float(g.below(1000)) / 100 }
        // Levels 13 down to 0: bands 2 (12-13), 1 (6-11), 0 (0-5).
        var sieves = (0...13).reversed().map { l -> _Sieve in
            var s = _Sieve(level: l, referenceCount: 20)
            s.cover = (0..<20).map { _ in u() }
            return s
        }
        var bands = _SieveBands()
        bands.rebuild(sieves)
        #expect(bands.count == 3)
        func expected(_ b: Int) -> [Float] {
            var m = [Float](repeating: .infinity, count: sieves[0].cover.count)
            for i in bands.members(b) { for j in m.indices { m[j] = min(m[j], sieves[i].cover[j]) } }
            return m
        }
        for b in 0..<bands.count { #expect(bands.minimum(b, sieves) == expected(b)) }
        for step in 0..<200 {
            if step % 10 == 9 {
                for i in sieves.indices { sieves[i].cover.append(u()) }
                bands.coverChanged(at: sieves[0].cover.count - 1, appended: true, sieves)
            } else {
                let j = Int(g.below(UInt64(sieves[0].cover.count)))
                for i in sieves.indices where g.below(2) == 0 { sieves[i].cover[j] = u() }  // up or down
                bands.coverChanged(at: j, appended: false, sieves)
            }
            for b in 0..<bands.count { #expect(bands.minimum(b, sieves) == expected(b), "step \(step)") }
        }
    }
}
