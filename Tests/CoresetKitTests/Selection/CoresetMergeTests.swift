import Foundation
import Testing
@testable import CoresetKit

/// `CoresetMerge`: weights carried over per class, identity when nothing needs to go, a weighted
/// ground set, budgets; and `CoresetFileReader`: weights and ids read back, malformed files named.
@Suite struct CoresetMergeTests {
    static func shard(_ g: inout SeededGenerator, count: Int, classes: Int, integerWeights: Bool, firstId: UInt64 = 0) -> WeightedCoreset {
        func u() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
        var out: [WeightedCoreset.Element] = []
        for i in 0..<count {
            let c = Int(g.below(UInt64(classes)))
            let x = (0..<3).map { _ in Float(u() * 4 - 2) }
            let w = integerWeights ? Double(1 + g.below(40)) : u() * 30
            let r = Record(label: Double(c), features: FeatureVector(dense: x), weight: w, position: firstId + UInt64(i))
            out.append(.init(record: r, weight: w, classIndex: c))
        }
        return WeightedCoreset(elements: out)
    }

    @Test func perClassTotalsAreTheShardsTotals() {
        var g = SeededGenerator(seed: 5)
        for trial in 0..<40 {
            let classes = 1 + trial % 4
            let integer = trial % 2 == 0
            let shards = (0..<(1 + trial % 5)).map { _ in Self.shard(&g, count: 5 + Int(g.below(60)), classes: classes, integerWeights: integer) }
            let present = Set(shards.flatMap { $0.elements.map(\.classIndex) })
            let k = present.count + Int(g.below(30))
            let sims: [SelectorConfiguration.Similarity] = [.euclidean, .cosine, .rbf(gamma: nil)]
            let result = CoresetMerge.merge(shards, task: .multiclass,
                                            configuration: .init(k: k, similarity: sims[trial % 3], budgetSplit: trial % 3 == 0 ? .equal : .proportional))
            let union = shards.reduce(0) { $0 + $1.count }
            #expect(result.coreset.count == min(k, union))
            for c in present {
                let before = shards.reduce(0.0) { $0 + $1.totalWeight(ofClass: c) }
                let after = result.coreset.totalWeight(ofClass: c)
                if integer {
                    #expect(after == before, "trial \(trial) class \(c)")
                } else {
                    #expect(abs(after - before) <= 1e-12 * before, "trial \(trial) class \(c): \(after) vs \(before)")
                }
            }
            #expect(result.value <= result.ceiling * (1 + 1e-9))
        }
    }

    @Test func oneShardWithRoomIsTheIdentity() {
        var g = SeededGenerator(seed: 9)
        let s = Self.shard(&g, count: 50, classes: 3, integerWeights: false)
        // Unchanged but for the origin each merged element names (shard 0, its id).
        let sorted = s.elements.sorted { ($0.classIndex, $0.id) < ($1.classIndex, $1.id) }
            .map { e in var e = e; e.origin = CoresetOrigin(shard: 0, position: e.id); return e }
        for k in [50, 51, 400] {
            let r = CoresetMerge.merge([s], task: .multiclass, configuration: .init(k: k))
            #expect(r.coreset.elements == sorted)
            #expect(abs(r.value - r.ceiling) <= 1e-9 * r.ceiling)
        }
    }

    @Test func theGroundSetIsWeighted() {
        // One heavy element far from three light ones: with k = 1 the heavy one must win (an
        // unweighted objective would pick from the light cluster), and it takes all the weight.
        func el(_ x: Float, _ w: Double, _ id: UInt64) -> WeightedCoreset.Element {
            .init(record: Record(label: 0, features: FeatureVector(dense: [x, 0]), weight: w, position: id), weight: w, classIndex: 0)
        }
        let light = WeightedCoreset(elements: [el(0, 1, 0), el(0.1, 1, 1), el(0.2, 1, 2)])
        let heavy = WeightedCoreset(elements: [el(10, 100, 0)])
        let r = CoresetMerge.merge([light, heavy], task: .binary, configuration: .init(k: 1))
        #expect(r.coreset.count == 1)
        #expect(r.coreset.elements[0].record.features.values == [10, 0])
        #expect(r.coreset.elements[0].weight == 103)
    }

    @Test func aClassWithFewElementsKeepsThemAllAndLendsItsShare() {
        var g = SeededGenerator(seed: 3)
        var big = Self.shard(&g, count: 40, classes: 1, integerWeights: true)
        // Class 1: two elements carrying most of the weight, so its proportional share is large.
        for (i, x) in [Float(1), 2].enumerated() {
            let r = Record(label: 1, features: FeatureVector(dense: [x, x, x]), weight: 1000, position: UInt64(100 + i))
            big.elements.append(.init(record: r, weight: 1000, classIndex: 1))
        }
        let r = CoresetMerge.merge([big], task: .binary, configuration: .init(k: 20))
        #expect(r.coreset.count == 20)
        #expect(r.coreset.elements.filter { $0.classIndex == 1 }.count == 2)
        #expect(r.coreset.totalWeight(ofClass: 1) == 2000)
    }

    @Test func budgetsByLargestRemaindersCappedAtClassSizes() {
        #expect(CoresetMerge.budgets(k: 10, classIds: [0, 1], split: .proportional, regression: false, sizes: [100, 100], weights: [3, 1]) == [8, 2])
        #expect(CoresetMerge.budgets(k: 10, classIds: [0, 1, 2], split: .equal, regression: false, sizes: [100, 2, 100], weights: [1, 1, 1]) == [5, 2, 3])
        #expect(CoresetMerge.budgets(k: 3, classIds: [0, 1, 2], split: .proportional, regression: false, sizes: [9, 9, 9], weights: [1000, 1, 1]) == [1, 1, 1])
        #expect(CoresetMerge.budgets(k: 50, classIds: [0], split: .proportional, regression: true, sizes: [20], weights: [5]) == [20])
    }
}

@Suite struct CoresetFileReaderTests {
    static func roundTrip(_ format: CoresetFormat, labels: LabelMap, elements: [(Record, Double)]) throws -> (WeightedCoreset, String) {
        let dir = TestSupport.temporaryDirectory()
        let path = dir.appendingPathComponent("c.\(format.rawValue)").path
        let file = try AtomicFile(path: path)
        let dim = elements.reduce(0) { max($0, $1.0.features.dimension) }
        try CoresetWriter(format: format, labels: labels, dimension: dim).write(elements.map { (record: $0.0, weight: $0.1) }, to: file.output)
        try file.commit()
        var reader = CoresetFileReader(format: format)
        return (try reader.read(path: path), path)
    }

    @Test(arguments: CoresetFormat.allCases)
    func weightsAndIdsSurviveEveryFormat(_ format: CoresetFormat) throws {
        var labels = LabelMap()
        _ = try labels.label(numeric: -1, text: "-1")
        _ = try labels.label(numeric: 1, text: "1")
        let elements: [(Record, Double)] = [
            (Record(label: 0, features: FeatureVector(indices: [0, 4], values: [0.5, 2]), position: 17), 3.25),
            (Record(label: 1, features: FeatureVector(indices: [1], values: [1]), position: 4_000_000_001), 0.1 + 0.2),
            (Record(label: 0, features: FeatureVector(indices: [2, 3], values: [1e-3, 7]), position: 0), 12),
        ]
        let (c, path) = try Self.roundTrip(format, labels: labels, elements: elements)
        #expect(c.elements.map(\.id) == [17, 4_000_000_001, 0])
        #expect(c.elements.map(\.weight) == [3.25, 0.1 + 0.2, 12])
        #expect(c.elements.map(\.classIndex) == [0, 1, 0])
        #expect(c.elements[0].record.features == elements[0].0.features)
        // Told from the content as well.
        var auto = CoresetFileReader()
        #expect(try auto.read(path: path).elements == c.elements)
    }

    static func parse(_ text: String, _ format: CoresetFormat) -> CoresetError? {
        var reader = CoresetFileReader(format: format)
        do { _ = try reader.parse(Array(text.utf8), name: "shard.txt") } catch { return error }
        return nil
    }

    @Test func malformedLinesAreNamedByFileAndLine() {
        #expect(Self.parse("1:2 1:1 # id=0\n-1 1:1 # id=1\n", .libsvm)
                == .badRecord(input: "shard.txt", line: 2, reason: "no weight: a coreset line ends with '# id=N weight=W' (or starts with label:weight)"))
        #expect(Self.parse("1:2 1:1 # id=0\n\n1:2 1:1\n", .libsvm)
                == .badRecord(input: "shard.txt", line: 3, reason: "no id: a coreset line ends with '# id=N weight=W'"))
        #expect(Self.parse("1:2 1:x # id=0\n", .libsvm)?.description.hasPrefix("shard.txt:1: bad value") == true)
        #expect(Self.parse("1:-2 1:1 # id=0\n", .libsvm)?.description.hasPrefix("shard.txt:1: ") == true)
        #expect(Self.parse("label,weight,f0\n1,2,3\n", .csv)
                == .badRecord(input: "shard.txt", line: 1, reason: "the CSV header has no id column"))
        #expect(Self.parse("id,label,weight,f0\n1,1,2,3\nx,1,2,3\n", .csv)
                == .badRecord(input: "shard.txt", line: 3, reason: "the id column does not hold a non-negative integer"))
        #expect(Self.parse("{\"id\":1,\"label\":1,\"indices\":[1],\"values\":[1]}\n", .jsonl)
                == .badRecord(input: "shard.txt", line: 1, reason: "no \"weight\""))
        #expect(Self.parse("1 2 'x | 0:1\n", .vw)
                == .badRecord(input: "shard.txt", line: 1, reason: "no id: a coreset line is 'label weight 'id | ...'"))
        #expect(Self.parse("1 '3 | 0:1\n", .vw)
                == .badRecord(input: "shard.txt", line: 1, reason: "no importance weight: a coreset line is 'label weight 'id | ...'"))
    }

    @Test func formatsAreToldFromTheFirstLine() {
        #expect(CoresetFileReader.detectFormat(Array("# coreset after 3 records\n{\"id\":1}\n".utf8)) == .jsonl)
        #expect(CoresetFileReader.detectFormat(Array("\nid,label,weight,f0\n".utf8)) == .csv)
        #expect(CoresetFileReader.detectFormat(Array("1 2 '3 | 0:1\n".utf8)) == .vw)
        #expect(CoresetFileReader.detectFormat(Array("1:2 1:1 # id=3\n".utf8)) == .libsvm)
        #expect(CoresetFileReader.detectFormat([]) == .libsvm)
    }

    @Test func aFileOfSeveralEmissionsStandsForItsLast() throws {
        var reader = CoresetFileReader(format: .libsvm)
        let text = "# coreset after 10 records: 1 elements, weight 10.000\n1:10 1:1 # id=3\n"
            + "# coreset after 20 records: 2 elements, weight 20.000\n1:12 1:1 # id=3\r\n-1:8 2:1 # id=15\r\n"
        let c = try reader.parse(Array(text.utf8), name: "s")
        #expect(c.elements.map(\.id) == [3, 15])
        #expect(c.totalWeight == 20)
    }

    @Test func compressedFilesReadBack() throws {
        let dir = TestSupport.temporaryDirectory()
        let url = dir.appendingPathComponent("c.svm.zst")
        TestSupport.write(TestSupport.zstd("1:2.5 3:1 # id=9\n"), to: url)
        var reader = CoresetFileReader(format: .libsvm)
        let c = try reader.read(path: url.path)
        #expect(c.elements.map(\.id) == [9])
        #expect(c.elements.map(\.weight) == [2.5])
        #expect(throws: CoresetError.self) { _ = try reader.read(path: dir.appendingPathComponent("missing").path) }
    }
}
