/// Sharded selection: with `SelectorConfiguration.shardCount` g > 1 the selector deals record i to
/// shard i mod g, an independent selector with about k/g of the budget (`shardConfiguration`), and
/// answers with the union of the shards' coresets.
///
/// Why the union is a coreset of the stream: each shard's weights total exactly the input weight of
/// its own records, per class, so the union's total per class is the class's whole input weight (the
/// same invariant as one selector), and each element still stands for records most similar to it.
/// Round-robin dealing gives every shard a systematic 1/g sample of the stream, so each class's budget
/// is shared over the shards about in proportion to its records there. It is the composition that
/// `coreset merge` applies to coresets of separate machines (Mirzasoleiman et al.'s GreeDi, Indyk et
/// al.'s composable coresets), done inside one process so that a large k costs what g selectors of
/// k/g cost: per record O(R/g) similarities instead of O(R).
///
/// Dealing depends only on the arrival count, so the answer is still independent of batch boundaries.
extension CoresetSelector {
    /// Union of the shards' coresets, in the selector's order (class, stream position).
    var shardUnion: WeightedCoreset {
        var out: [WeightedCoreset.Element] = []
        for s in shardSelectors { out += s.coreset.elements }
        out.sort { ($0.classIndex, $0.record.position) < ($1.classIndex, $1.record.position) }
        return WeightedCoreset(elements: out)
    }

    /// The shards' class budgets, summed per class.
    var shardBudgets: [Int] {
        var b: [Int] = []
        for s in shardSelectors {
            let sb = s.classBudgets()
            if b.count < sb.count { b += [Int](repeating: 0, count: sb.count - b.count) }
            for (i, v) in sb.enumerated() { b[i] += v }
        }
        return b
    }

    /// State of a sharded selector: the arrival count, then each shard's own state.
    func encodedShardState(into w: inout _StateWriter) throws(CoresetError) {
        w.u64(arrivals)
        w.int(shardSelectors.count)
        for s in shardSelectors { w.blob(try s.encodedState()) }
    }

    func decodeShardState(_ r: inout _StateReader, source: String) throws {
        arrivals = try r.u64()
        let g = try r.int()
        guard g == shardSelectors.count else {
            throw _StateReader.Corrupt(offset: r.offset, reason: "\(g) shards saved, \(shardSelectors.count) configured")
        }
        for i in 0..<g {
            let bytes = try r.blob()
            shardSelectors[i] = try CoresetSelector(restoring: bytes, configuration: configuration.shardConfiguration(i),
                                                    task: task, source: "\(source) (shard \(i))")
        }
    }
}
