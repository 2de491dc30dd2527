/// The text of the lines a selector may still output, keyed by stream position, with bounded memory.
///
/// Every accepted line is added (`add`), and after its records were offered to the selector,
/// `pruneIfGrown(held:)` drops the lines the selector no longer holds whenever the store has doubled
/// since the last prune (and holds at least `minimumPruneSize` lines). So on an endless followed log
/// the store holds at most about twice what the selector holds (its sieve elements and reservoirs),
/// plus one batch, and pruning costs O(1) amortised per line.
public final class LineTextStore {
    private(set) var texts: [UInt64: String] = [:]
    private var limit: Int
    public let minimumPruneSize: Int

    public init(minimumPruneSize: Int = 4096) {
        self.minimumPruneSize = max(1, minimumPruneSize)
        limit = self.minimumPruneSize
    }

    /// Lines held now.
    public var count: Int { texts.count }

    /// Adds lines (before their records are offered to the selector).
    public func add(_ lines: [(position: UInt64, text: String)]) {
        for (p, t) in lines { texts[p] = t }
    }

    /// Prunes to `held()` when the store has grown past twice its size after the last prune.
    public func pruneIfGrown(held: () -> Set<UInt64>) {
        if texts.count > limit { prune(keeping: held()) }
    }

    /// Keeps only the lines at `positions`.
    public func prune(keeping positions: Set<UInt64>) {
        texts = texts.filter { positions.contains($0.key) }
        limit = max(minimumPruneSize, 2 * texts.count)
    }

    public subscript(position: UInt64) -> String? { texts[position] }
}

/// Writes a coreset of text lines as a summary: one representative line per row, most weight first,
/// `weight<TAB>id<TAB>line` (with `<TAB>class` before the line when the lines are labelled).
public struct RepresentativeLinesWriter {
    public let labels: LabelMap?

    /// - Parameter labels: the label mapping, to print each element's class; nil for unlabelled lines.
    public init(labels: LabelMap?) {
        self.labels = labels
    }

    /// The rows, most weight first (ties by stream position).
    public func rows(_ coreset: WeightedCoreset, texts: LineTextStore) -> [String] {
        let ordered = coreset.elements.sorted { ($0.weight, $1.id) > ($1.weight, $0.id) }
        return ordered.map { e in
            var row = CoresetWriter.number((e.weight * 1000).rounded() / 1000) + "\t\(e.id)\t"
            if let labels { row += labels.name(of: e.classIndex) + "\t" }
            // The store keeps every held line, so a missing text would be a bug; say so in the row.
            row += texts[e.id] ?? "(text of line \(e.id) not kept)"
            return row
        }
    }

    public func write(_ coreset: WeightedCoreset, texts: LineTextStore, to out: TextOutput) throws(OutputError) {
        for row in rows(coreset, texts: texts) { try out.write(row + "\n") }
        try out.flush()
    }
}
