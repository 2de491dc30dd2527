/// A checkpoint of `coreset select --state DIR`: the input position, the selector's whole state,
/// the stream summary and the emission schedule. Same file rules as `RunState` (atomic, versioned,
/// checksummed, refused for other options or changed inputs); selection is deterministic, so a
/// resumed run writes byte for byte the coreset of one that never stopped.
public struct SelectState: Sendable {
    public static let formatName = "coreset-select-state"
    public static let formatVersion = 1

    public var options: String
    public var inputs: [InputIdentity]
    public var reader: ReaderPosition
    public var task: TaskKind
    /// `CoresetSelector.encodedState()`.
    public var selector: [UInt8]
    public var summary: StreamSummary
    /// The record count of the next `--emit-every` emission, and emissions so far.
    public var nextEmit: UInt64?
    public var emissions: Int

    public init(options: String, inputs: [InputIdentity], reader: ReaderPosition, task: TaskKind, selector: [UInt8],
                summary: StreamSummary, nextEmit: UInt64?, emissions: Int) {
        self.options = options
        self.inputs = inputs
        self.reader = reader
        self.task = task
        self.selector = selector
        self.summary = summary
        self.nextEmit = nextEmit
        self.emissions = emissions
    }

    /// Rejects a state taken with other options or on inputs that changed.
    public func check(options now: String, inputs identities: [InputIdentity], directory: String) throws(CoresetError) {
        try _checkResumable(savedOptions: options, savedInputs: inputs, options: now, inputs: identities, directory: directory)
    }

    public func write(toDirectory dir: String) throws(CoresetError) {
        var w = _StateWriter()
        w.string(options)
        w.inputIdentities(inputs)
        w.readerPosition(reader)
        w.string(task.rawValue)
        w.blob(selector)
        let s = summary
        w.bool(s.isRegression)
        w.u64(s.records)
        w.double(s.totalWeight)
        w.array(s.classCounts) { $0.u64($1) }
        w.doubles(s.classWeights)
        w.double(s.targetMin)
        w.double(s.targetMax)
        w.double(s.targetSum)
        w.int(s.dimension)
        w.u64(s.nonzeros)
        w.optional(nextEmit) { $0.u64($1) }
        w.int(emissions)
        try _CheckpointFile.write(w.bytes, format: Self.formatName, version: Self.formatVersion, toDirectory: dir)
    }

    /// The checkpoint in `dir`, or nil if there is none.
    public static func read(fromDirectory dir: String) throws(CoresetError) -> SelectState? {
        guard let (payload, path) = try _CheckpointFile.read(format: formatName, version: formatVersion, fromDirectory: dir) else { return nil }
        var r = _StateReader(payload)
        do {
            let options = try r.string()
            let inputs = try r.inputIdentities()
            let reader = try r.readerPosition()
            let taskName = try r.string()
            guard let task = TaskKind(rawValue: taskName) else { throw _StateReader.Corrupt(offset: r.offset, reason: "unknown task \(taskName)") }
            let selector = try r.blob()
            var s = StreamSummary(regression: try r.bool())
            s.records = try r.u64()
            s.totalWeight = try r.double()
            s.classCounts = try r.array { try $0.u64() }
            s.classWeights = try r.doubles()
            s.targetMin = try r.double()
            s.targetMax = try r.double()
            s.targetSum = try r.double()
            s.dimension = try r.int()
            s.nonzeros = try r.u64()
            guard s.classCounts.count == s.classWeights.count else { throw _StateReader.Corrupt(offset: r.offset, reason: "class counts and weights differ") }
            let nextEmit = try r.optional { try $0.u64() }
            let emissions = try r.int()
            guard r.atEnd else { throw _StateReader.Corrupt(offset: r.offset, reason: "trailing bytes") }
            return SelectState(options: options, inputs: inputs, reader: reader, task: task, selector: selector, summary: s,
                               nextEmit: nextEmit, emissions: emissions)
        } catch {
            throw .badFile(path: path, message: "corrupt checkpoint: \(error)")
        }
    }
}
