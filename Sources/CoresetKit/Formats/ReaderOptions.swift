/// How the reader decodes its inputs.
public struct ReaderOptions: Sendable {
    public var format: RecordFormat = .libsvm
    /// Bytes asked of each `read()` (and the size of the line buffer).
    public var chunkSize = 1 << 20
    /// Stop at the first bad record (exit 65) instead of skipping it.
    public var strict = false
    /// How many bad records are described on stderr (all are counted).
    public var maxReported = 10
    /// LIBSVM indices start at 0 instead of 1.
    public var zeroBasedIndices = false
    /// Labels are real-valued targets.
    public var regression = false
    public var csv = CSVOptions()
    /// Bits of the hashed feature space (VW and text formats).
    public var hashBits = 18
    /// Text format: normalisation, features and labels of raw lines.
    public var text = TextOptions()
    /// Poll interval of a followed file, in seconds.
    public var followPollInterval = 0.05
    /// Stop following after this many idle seconds (nil: until interrupted).
    public var followIdleTimeout: Double?
    /// Start from this label mapping (a model's), so class ids match the ones it was trained with.
    public var initialLabels: LabelMap?
    /// Decompress on a separate thread, a few chunks ahead of parsing.
    public var prefetch = true
    /// Parse the second half of each large chunk on a second thread (when the machine has two cores).
    public var parallelParsing = true
    /// Largest zstd window accepted, 2^zstdWindowLog bytes (zstd's default limit: 27, 128 MiB).
    public var zstdWindowLog = 27
    /// Longest line accepted; a longer one is a bad record.
    public var maxLineLength = 64 << 20
    /// Feature indices (zero-based) must stay below this; a record beyond it is a bad record, since
    /// models and selectors size their arrays by the largest index (one stray `4000000000:1` would ask
    /// for tens of GB). VW and text streams always allow their hashed space, 2^hashBits.
    public var maxDimension = 1 << 24
    /// Labels must be classes of `initialLabels` (a model's): a record with a class the model does not
    /// have is a bad record, instead of being scored against outputs that do not exist.
    public var fixedClasses = false

    public init() {}
}
