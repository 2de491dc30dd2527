import Foundation
import Testing

/// `coreset merge` on coresets written by `coreset select`, as a user runs them.
@Suite struct MergeCLITests {
    /// A deterministic shard of LIBSVM text: `count` records, labels -1/1 (about one in four positive).
    static func shardText(seed: UInt64, count: Int) -> (text: String, positives: Int) {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        var text = "", positives = 0
        for _ in 0..<count {
            let positive = next() % 4 == 0
            if positive { positives += 1 }
            text += positive ? "1" : "-1"
            var index = 0
            for _ in 0..<4 {
                index += 1 + Int(next() % 5)
                text += " \(index):\(Double(next() % 1000) / 1000 + (positive ? 0.5 : 0))"
            }
            text += "\n"
        }
        return (text, positives)
    }

    /// Per-label weight totals and ids of a LIBSVM coreset.
    static func totals(_ coreset: String) -> (weights: [String: Double], ids: [Int]) {
        var weights: [String: Double] = [:], ids: [Int] = []
        for line in coreset.split(separator: "\n") where !line.hasPrefix("#") {
            let label = line.split(separator: " ")[0]
            weights[String(label), default: 0] += Double(line.split(separator: "weight=")[1].split(separator: " ")[0])!
            ids.append(Int(line.split(separator: "id=")[1].split(separator: " ")[0])!)
        }
        return (weights, ids)
    }

    @Test func shardsSelectedThenMergedKeepEveryClassWeight() throws {
        var coresets: [String] = [], positives = 0, records = 0
        for s in 0..<3 {
            let (text, p) = Self.shardText(seed: UInt64(s + 1), count: 500 + 100 * s)
            positives += p
            records += 500 + 100 * s
            let input = CLI.temporaryFile("shard\(s).svm", Data(text.utf8))
            let out = input + ".coreset"
            let r = try CLI.run(["select", "-q", "-k", "40", "--reference-size", "300", input, "-o", out])
            #expect(r.status == 0, "\(r.stderr)")
            coresets.append(out)
        }
        let merged = try CLI.run(["merge", "-k", "30"] + coresets)
        #expect(merged.status == 0, "\(merged.stderr)")
        let (weights, ids) = Self.totals(merged.stdout)
        #expect(ids.count == 30)
        #expect(abs(weights["1", default: 0] - Double(positives)) < 1e-9 * Double(records))
        #expect(abs(weights["-1", default: 0] - Double(records - positives)) < 1e-9 * Double(records))
        #expect(merged.stderr.contains("merge: 3 coresets, 120 elements"))
        // Every id is one a shard wrote.
        var shardIds = Set<Int>()
        for c in coresets { shardIds.formUnion(Self.totals(try String(contentsOfFile: c, encoding: .utf8)).ids) }
        #expect(Set(ids).isSubset(of: shardIds))

        // A merged coreset merges again, in another format, and a single shard with room is unchanged.
        let jsonl = try CLI.run(["merge", "-q", "-k", "30", "--output-format", "jsonl", "--input-format", "libsvm"] + coresets)
        #expect(jsonl.status == 0)
        let path = CLI.temporaryFile("m.jsonl", Data(jsonl.stdout.utf8))
        let again = try CLI.run(["merge", "-q", "-k", "30", "--output-format", "jsonl", path])
        #expect(again.stdout == jsonl.stdout)
        let single = try CLI.run(["merge", "-q", "-k", "40", "--first-shard", "7", coresets[0]])
        let shardLines = try String(contentsOfFile: coresets[0], encoding: .utf8).split(separator: "\n")
        #expect(single.stdout.split(separator: "\n") == shardLines.map { $0 + " origin=7:" + $0.split(separator: "id=")[1].split(separator: " ")[0] })
    }

    /// Ids repeat across shards; origins (shard:id) do not, and survive a second level of merging.
    @Test func everyMergedElementNamesItsOrigin() throws {
        var coresets: [String] = []
        var shardLines: [[Substring]] = []
        for s in 0..<4 {
            let input = CLI.temporaryFile("o-shard\(s).svm", Data(Self.shardText(seed: UInt64(s + 11), count: 300).text.utf8))
            let out = input + ".coreset"
            let r = try CLI.run(["select", "-q", "-k", "40", input, "-o", out])
            #expect(r.status == 0, "\(r.stderr)")
            coresets.append(out)
            shardLines.append(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n"))
        }
        func origins(_ text: String) -> [String] {
            text.split(separator: "\n").compactMap { $0.split(separator: "origin=").last.map(String.init) }
        }
        // Two merges of two shards each (shards 0-1 and 2-3), then their merge.
        let left = try CLI.run(["merge", "-q", "-k", "30", coresets[0], coresets[1]])
        let right = try CLI.run(["merge", "-q", "-k", "30", "--first-shard", "2", coresets[2], coresets[3]])
        let l = CLI.temporaryFile("left.svm", Data(left.stdout.utf8)), r = CLI.temporaryFile("right.svm", Data(right.stdout.utf8))
        let top = try CLI.run(["merge", "-q", "-k", "25", "--first-shard", "99", l, r])
        #expect(top.status == 0, "\(top.stderr)")
        let named = origins(top.stdout)
        #expect(named.count == 25)
        #expect(Set(named).count == 25)
        for o in named {
            // The element is the shard's line of that id: same features, from shard S (not 99).
            let parts = o.split(separator: ":")
            let shard = Int(parts[0])!, id = parts[1]
            #expect((0..<4).contains(shard))
            let source = shardLines[shard].first { $0.contains("# id=\(id) ") }
            let merged = top.stdout.split(separator: "\n").first { $0.hasSuffix("origin=\(o)") }!
            #expect(source?.split(separator: " ").dropFirst().prefix { $0 != "#" } == merged.split(separator: " ").dropFirst().prefix { $0 != "#" })
        }
        // Every format names origins, and they read back (CSV column, JSON field, VW tag).
        for format in ["csv", "jsonl", "vw"] {
            let out = try CLI.run(["merge", "-q", "-k", "25", "--output-format", format, l, r])
            #expect(out.status == 0)
            for o in named { #expect(out.stdout.contains(o), "\(format): \(o)") }
            let path = CLI.temporaryFile("m.\(format)", Data(out.stdout.utf8))
            let back = try CLI.run(["merge", "-q", "-k", "25", path])
            #expect(back.status == 0, "\(back.stderr)")
            #expect(Set(origins(back.stdout)) == Set(named), "\(format)")
        }
        let bad = CLI.temporaryFile("bad-origin.svm", Data("1:3 1:1 # id=0 origin=x:1\n".utf8))
        let r2 = try CLI.run(["merge", "-k", "1", bad])
        #expect(r2.status == 65)
        #expect(r2.stderr.contains("\(bad):1: origin 'x:1' is not 'shard:id'"))
    }

    @Test func malformedCoresetsAreNamedByFileAndLine() throws {
        let good = CLI.temporaryFile("good.svm", Data("1:3 1:1 # id=0\n-1:2 2:1 # id=4\n".utf8))
        let unweighted = CLI.temporaryFile("plain.svm", Data("1:3 1:1 # id=0\n-1 2:1 # id=4\n".utf8))
        let r = try CLI.run(["merge", "-k", "1", good, unweighted])
        #expect(r.status == 65)
        #expect(r.stderr.contains("\(unweighted):2: no weight"))
        #expect(r.stdout.isEmpty)
        let noId = CLI.temporaryFile("noid.svm", Data("1:3 1:1 # id=0\n\n1:2 3:1\n".utf8))
        let r2 = try CLI.run(["merge", "-k", "1", noId])
        #expect(r2.status == 65)
        #expect(r2.stderr.contains("\(noId):3: no id"))
        let missing = try CLI.run(["merge", "-k", "1", "/nonexistent/c.svm"])
        #expect(missing.status == 74)
        let usage = try CLI.run(["merge", "-k", "0", good])
        #expect(usage.status == 64)
    }
}
