extension CoresetSelector {
    /// Stream positions of every record the selector still holds and may put in a coreset: sieve
    /// elements, reference reservoirs, window candidates (and every record, for `greedy`). Its size is
    /// bounded by the algorithm's store plus the reservoirs, so side data kept per held record (e.g.
    /// the text of log lines) stays bounded on an endless stream when pruned to this set.
    public var heldPositions: Set<UInt64> {
        settle()
        var held = Set<UInt64>()
        for s in shardSelectors { held.formUnion(s.heldPositions) }
        for case let c? in classes {
            for case let e? in c.pool { held.insert(e.point.record.position) }
            for p in c.refPoints { held.insert(p.record.position) }
            for cand in c.candidates { held.insert(cand.point.record.position) }
            for p in c.all[c.allHead...] { held.insert(p.record.position) }
        }
        // Records still waiting for the scale to be fixed.
        for r in warmUpBuffer { held.insert(r.position) }
        return held
    }
}
