/// Where a merged coreset element was selected: the shard (input partition) and the element's id
/// in that shard's stream. Ids alone repeat across shards; shard and id together do not.
/// Written as `S:P` (LIBSVM `origin=S:P`, CSV column `origin`, JSON Lines `"origin"`, VW tag `'S:P`).
public struct CoresetOrigin: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var shard: Int
    public var position: UInt64

    public init(shard: Int, position: UInt64) {
        self.shard = shard
        self.position = position
    }

    /// `S:P`.
    public var description: String { "\(shard):\(position)" }

    /// Reads `S:P` (two non-negative integers); nil for anything else.
    public init?<S: StringProtocol>(text: S) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let s = Int(parts[0]), s >= 0, let p = UInt64(parts[1]) else { return nil }
        self.init(shard: s, position: p)
    }

    public static func < (a: CoresetOrigin, b: CoresetOrigin) -> Bool { (a.shard, a.position) < (b.shard, b.position) }
}
