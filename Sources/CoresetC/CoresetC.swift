// The C interface (include/coreset.h): opaque handles over CoresetKit's CoresetStage and its
// snapshots. Every entry point checks what C hands it and reports failures through an error code
// and a per-thread message; none traps on bad input.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import CoresetKit

// MARK: Errors

private let CORESET_OK: Int32 = 0
private let CORESET_ERROR_ARGUMENT: Int32 = 1
private let CORESET_ERROR_DATA: Int32 = 2
private let CORESET_ERROR_STATE: Int32 = 3

/// A failure of one call: its code (coreset.h) and message.
struct CFailure: Error {
    var code: Int32
    var message: String
    static func argument(_ m: String) -> CFailure { CFailure(code: CORESET_ERROR_ARGUMENT, message: m) }
    static func state(_ m: String) -> CFailure { CFailure(code: CORESET_ERROR_STATE, message: m) }
}

/// The thread's last error message, a malloc'd C string owned by the thread-specific slot (freed
/// when replaced or when the thread exits), so `coreset_last_error` can hand out a stable pointer.
private let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

private func setLastError(_ message: String) {
    free(pthread_getspecific(lastErrorKey))
    pthread_setspecific(lastErrorKey, strdup(message))
}

/// Runs one entry point: its failure becomes an error code and the thread's message.
private func guarded(_ function: String, _ body: () throws(CFailure) -> Void) -> Int32 {
    do {
        try body()
        return CORESET_OK
    } catch {
        setLastError("\(function): \(error.message)")
        return error.code
    }
}

@_cdecl("coreset_last_error")
public func coreset_last_error() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(lastErrorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return emptyString
}

private nonisolated(unsafe) let emptyString: UnsafePointer<CChar> = UnsafePointer(strdup("")!)
private nonisolated(unsafe) let versionString: UnsafePointer<CChar> = UnsafePointer(strdup("1")!)

@_cdecl("coreset_version")
public func coreset_version() -> UnsafePointer<CChar> { versionString }

// MARK: Handles

/// What a `coreset_stage *` points to.
final class StageHandle: @unchecked Sendable {
    let stage: CoresetStage
    let configuration: CoresetStageConfiguration
    /// Set by `coreset_stage_finish`; the stage itself treats a push after finish as a programming error.
    var finished = false

    init(configuration: CoresetStageConfiguration) {
        self.configuration = configuration
        stage = CoresetStage(configuration: configuration, inputName: "<pushed text>")
    }
}

/// What a `coreset_snapshot *` points to.
final class SnapshotHandle {
    let snapshot: CoresetStageSnapshot
    init(_ snapshot: CoresetStageSnapshot) { self.snapshot = snapshot }
}

private func stageHandle(_ p: OpaquePointer?) throws(CFailure) -> StageHandle {
    guard let p else { throw .argument("stage is NULL") }
    return Unmanaged<StageHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

/// A stage that still takes input (every push starts here).
private func openStage(_ p: OpaquePointer?) throws(CFailure) -> StageHandle {
    let h = try stageHandle(p)
    guard !h.finished else { throw .state("the stage is finished") }
    return h
}

private func snapshotHandle(_ p: OpaquePointer?) throws(CFailure) -> SnapshotHandle {
    guard let p else { throw .argument("snapshot is NULL") }
    return Unmanaged<SnapshotHandle>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

/// Holds an async result for the blocked C caller.
private final class ResultBox<T>: @unchecked Sendable { var value: T? }

/// Runs an actor call to completion on the caller's thread. C callers are not Swift tasks, so
/// blocking them on a semaphore cannot starve the concurrency pool the call runs on.
private func runBlocking<T>(_ operation: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await operation()
        done.signal()
    }
    done.wait()
    return box.value!
}

// MARK: Configuration

/// Parses `key=value` settings into a stage configuration (names as `coreset run`'s options).
func parseStageConfiguration(_ text: String) throws(CFailure) -> CoresetStageConfiguration {
    var settings: [String: String] = [:]
    var order: [String] = []
    for token in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
        guard let eq = token.firstIndex(of: "=") else { throw .argument("setting \"\(token)\" is not key=value") }
        let key = String(token[..<eq]), value = String(token[token.index(after: eq)...])
        if settings[key] != nil { throw .argument("setting \(key) is given twice") }
        settings[key] = value
        order.append(key)
    }
    var used: Set<String> = []
    func string(_ key: String) -> String? {
        used.insert(key)
        return settings[key]
    }
    func number<T: LosslessStringConvertible>(_ key: String, _ type: T.Type) throws(CFailure) -> T? {
        guard let s = string(key) else { return nil }
        guard let v = T(s) else { throw .argument("\(key)=\(s) is not a valid \(T.self == Double.self ? "number" : "integer")") }
        if let d = v as? Double, !d.isFinite { throw .argument("\(key)=\(s) is not a finite number") }
        return v
    }
    func choice<E: RawRepresentable>(_ key: String, _ type: E.Type) throws(CFailure) -> E? where E.RawValue == String, E: CaseIterable {
        guard let s = string(key) else { return nil }
        guard let v = E(rawValue: s) else {
            throw .argument("\(key)=\(s) is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
    func flag(_ key: String) throws(CFailure) -> Bool? {
        guard let s = string(key) else { return nil }
        switch s {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw .argument("\(key)=\(s) is not 0 or 1")
        }
    }

    guard let task = try choice("task", TaskKind.self) else { throw .argument("task= is required (binary, multiclass or regression)") }
    guard let k = try number("k", Int.self) else { throw .argument("k= is required") }
    // As the command line: sample-greedy, or sieve++ where a window or half-life needs a streaming sieve;
    // the reservoir defaults follow the algorithm.
    let windowed = string("window") != nil || string("half-life") != nil
    let algorithm = try choice("algorithm", SelectorConfiguration.Algorithm.self) ?? (windowed ? .sieveStreamingPlusPlus : .sampleGreedy)
    var selector = SelectorConfiguration(k: k, algorithm: algorithm)
    if let v = try number("epsilon", Double.self) { selector.epsilon = v }
    if let v = try number("patience", Int.self) { selector.threeSievesPatience = v }
    let gamma = try number("gamma", Double.self), saturation = try number("saturation", Double.self)
    switch string("similarity") ?? (saturation != nil ? "cosine" : "euclidean") {
    case "euclidean": selector.similarity = .euclidean
    case "cosine": selector.similarity = saturation.map { .saturatedCosine(threshold: $0) } ?? .cosine
    case "rbf": selector.similarity = .rbf(gamma: gamma)
    case let s: throw .argument("similarity=\(s) is not one of euclidean, cosine, rbf")
    }
    if gamma != nil, case .rbf = selector.similarity {} else if gamma != nil { throw .argument("gamma= applies to similarity=rbf only") }
    if saturation != nil, settings["similarity"].map({ $0 != "cosine" }) ?? false { throw .argument("saturation= applies to similarity=cosine only") }
    if let v = try choice("space", SelectorConfiguration.Space.self) { selector.space = v }
    if let v = try choice("per-class", SelectorConfiguration.BudgetSplit.self) { selector.budgetSplit = v }
    if let v = try number("reference-size", Int.self) { selector.referenceSize = v }
    if let v = try number("reference-factor", Int.self) { selector.referenceFactor = v }
    if let v = try number("warm-up", Int.self) { selector.warmUp = v }
    if let v = try number("window", Int.self) { selector.window = v }
    if let v = try number("half-life", Double.self) { selector.halfLife = v }
    if let v = try number("reselect-threshold", Double.self) { selector.reselectionThreshold = v }
    if let v = try number("reselect-spacing", Double.self) { selector.reselectionSpacing = v }
    if let v = try number("seed", UInt64.self) { selector.seed = v }
    if let v = try number("shards", Int.self) { selector.shards = v }
    if let v = try choice("weighting", SelectorConfiguration.Weighting.self) { selector.weighting = v }
    if let v = try number("candidate-factor", Double.self) { selector.candidateFactor = v }
    if let v = try number("cell-size", Int.self) { selector.cellSize = v }
    if let v = try choice("representatives", SelectorConfiguration.Representatives.self) { selector.representatives = v }

    var reader = ReaderOptions()
    if let v = try choice("format", RecordFormat.self) { reader.format = v }
    if let v = try flag("strict") { reader.strict = v }
    if let v = try flag("zero-based") { reader.zeroBasedIndices = v }
    if let v = try number("hash-bits", Int.self) {
        guard (1...28).contains(v) else { throw .argument("hash-bits=\(v) is not in 1...28") }
        reader.hashBits = v
    }
    if let v = try number("max-dimension", Int.self) {
        guard (1...(1 << 31)).contains(v) else { throw .argument("max-dimension=\(v) is not in 1...2^31") }
        reader.maxDimension = v
    }

    let learns = try flag("learn") ?? true
    var learnerSettings = LearnerConfiguration(task: task)
    if let v = try number("l2", Double.self) {
        guard v >= 0 else { throw .argument("l2=\(v) must not be negative") }
        learnerSettings.l2 = v
    }
    if let v = try number("learner-seed", UInt64.self) { learnerSettings.seed = v }
    if let v = try number("eta0", Double.self) {
        guard v > 0 else { throw .argument("eta0=\(v) must be positive") }
        // The default schedule's shape, from another first step.
        if case .inverseScaling(_, let decay, let power) = learnerSettings.schedule {
            learnerSettings.schedule = .inverseScaling(eta0: v, decay: decay, power: power)
        }
    }
    var learner = OnlineReplayConfiguration(learner: learnerSettings, replayWeight: 0.1)
    if let v = try number("replay-weight", Double.self) {
        guard v >= 0 else { throw .argument("replay-weight=\(v) must not be negative") }
        learner.replayWeight = v
    }
    var configuration = CoresetStageConfiguration(task: task, selector: selector, learner: learner, learns: learns, reader: reader)
    if let v = try number("replay-steps", Int.self) { configuration.replayStepsPerRecord = v }
    // A stage that does not learn publishes snapshots for nobody here (C reads them on demand): each
    // costs a coreset read-out, 2/3 of the time of selecting adult (tools/bench_python), so none by default.
    if !learns { configuration.snapshotEvery = Int.max }
    if let v = try number("snapshot-every", Int.self) { configuration.snapshotEvery = v }
    if let v = try number("model-update-every", Int.self) { configuration.modelUpdateEvery = v }
    if let unknown = order.first(where: { !used.contains($0) }) { throw .argument("unknown setting \(unknown)") }
    if let e = configuration.validationError() { throw .argument(e) }
    return configuration
}

// MARK: Input checks

/// The largest number of rows or columns, and of entries, accepted in one call (keeps every offset
/// computed from them far below Int's range).
private let maxRows: Int64 = 1 << 40

private func checkEntries(rows: Int64, cols: Int64) throws(CFailure) {
    let (entries, overflow) = rows.multipliedReportingOverflow(by: cols)
    guard !overflow, entries <= maxRows else { throw .argument("rows x cols = \(rows) x \(cols) is more entries than one call takes (2^40)") }
}

private func checkLabels(_ labels: UnsafePointer<Double>?, _ weights: UnsafePointer<Double>?, rows: Int, task: TaskKind) throws(CFailure) {
    guard let labels else { throw .argument("labels is NULL") }
    for i in 0..<rows {
        let y = labels[i]
        guard y.isFinite else { throw .argument("label of row \(i) is not a finite number") }
        switch task {
        case .binary:
            guard y == 0 || y == 1 else { throw .argument("label of row \(i) is \(y); a binary stage takes class ids 0 and 1") }
        case .multiclass:
            guard y >= 0, y <= Double(LabelMap.maxClassId), y == y.rounded() else {
                throw .argument("label of row \(i) is \(y); a multiclass stage takes class ids 0...\(LabelMap.maxClassId)")
            }
        case .regression: break
        }
        if let weights {
            guard weights[i].isFinite, weights[i] >= 0 else { throw .argument("weight of row \(i) is \(weights[i]); weights must be finite and >= 0") }
        }
    }
}

/// The shape, labels and weights of a pushed matrix; false when it has no rows (nothing to push).
private func checkMatrix(_ h: StageHandle, rows: Int64, cols: Int64, labels: UnsafePointer<Double>?,
                         weights: UnsafePointer<Double>?) throws(CFailure) -> Bool {
    try checkShape(rows: rows, cols: cols, maxDimension: h.configuration.reader.maxDimension)
    guard rows > 0 else { return false }
    try checkLabels(labels, weights, rows: Int(rows), task: h.configuration.task)
    return true
}

private func checkShape(rows: Int64, cols: Int64, maxDimension: Int) throws(CFailure) {
    guard rows >= 0, rows <= maxRows else { throw .argument("rows=\(rows) is out of range") }
    guard cols >= 0, cols <= Int64(maxDimension) else {
        throw .argument("cols=\(cols) is out of range 0...\(maxDimension) (the stage's max-dimension)")
    }
    try checkEntries(rows: rows, cols: cols)
}

/// Rows of a dense row-major matrix as records.
private func denseRecords(_ x: UnsafePointer<Double>?, rows: Int, cols: Int, labels: UnsafePointer<Double>, weights: UnsafePointer<Double>?) throws(CFailure) -> [Record] {
    guard x != nil || rows * cols == 0 else { throw .argument("x is NULL") }
    var records: [Record] = []
    records.reserveCapacity(rows)
    for i in 0..<rows {
        var values = [Float](repeating: 0, count: cols)
        for j in 0..<cols {
            let v = x![i * cols + j]
            guard v.isFinite, abs(v) <= Double(Float.greatestFiniteMagnitude) else {
                throw .argument("x[\(i)][\(j)] = \(v) is not a finite 32-bit number")
            }
            values[j] = Float(v)
        }
        records.append(Record(label: labels[i], features: FeatureVector(dense: values), weight: weights?[i] ?? 1))
    }
    return records
}

/// Checks a CSR matrix's structure; returns its rows as (indices, values) offsets.
private func checkCSR(_ indptr: UnsafePointer<Int64>?, _ indices: UnsafePointer<Int64>?, _ values: UnsafePointer<Double>?, rows: Int, cols: Int64) throws(CFailure) {
    guard let indptr else { throw .argument("indptr is NULL") }
    guard indptr[0] == 0 else { throw .argument("indptr[0] is \(indptr[0]), not 0") }
    for i in 0..<rows {
        let a = indptr[i], b = indptr[i + 1]
        guard b >= a, b - a <= cols else { throw .argument("indptr[\(i + 1)] = \(b) is out of order (indptr[\(i)] = \(a), cols = \(cols))") }
    }
    let nnz = Int(indptr[rows])
    guard nnz == 0 || (indices != nil && values != nil) else { throw .argument("indices or values is NULL") }
    for i in 0..<rows {
        var previous: Int64 = -1
        for p in Int(indptr[i])..<Int(indptr[i + 1]) {
            let j = indices![p], v = values![p]
            guard j > previous, j < cols else {
                throw .argument("row \(i): column index \(j) is not increasing or not below cols = \(cols) (sort the indices, sum duplicates)")
            }
            guard v.isFinite, abs(v) <= Double(Float.greatestFiniteMagnitude) else {
                throw .argument("row \(i), column \(j): \(v) is not a finite 32-bit number")
            }
            previous = j
        }
    }
}

// MARK: Stage

@_cdecl("coreset_stage_create")
public func coreset_stage_create(_ configuration: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("coreset_stage_create") { () throws(CFailure) in
        guard let out else { throw .argument("out is NULL") }
        out.pointee = nil
        guard let configuration else { throw .argument("configuration is NULL") }
        let parsed = try parseStageConfiguration(String(cString: configuration))
        out.pointee = OpaquePointer(Unmanaged.passRetained(StageHandle(configuration: parsed)).toOpaque())
    }
}

@_cdecl("coreset_stage_free")
public func coreset_stage_free(_ stage: OpaquePointer?) {
    guard let stage else { return }
    Unmanaged<StageHandle>.fromOpaque(UnsafeRawPointer(stage)).release()
}

@_cdecl("coreset_stage_push_dense")
public func coreset_stage_push_dense(
    _ stage: OpaquePointer?, _ x: UnsafePointer<Double>?, _ rows: Int64, _ cols: Int64,
    _ labels: UnsafePointer<Double>?, _ weights: UnsafePointer<Double>?
) -> Int32 {
    guarded("coreset_stage_push_dense") { () throws(CFailure) in
        let h = try openStage(stage)
        guard try checkMatrix(h, rows: rows, cols: cols, labels: labels, weights: weights) else { return }
        let records = try denseRecords(x, rows: Int(rows), cols: Int(cols), labels: labels!, weights: weights)
        let stage = h.stage
        runBlocking { await stage.push(records) }
    }
}

@_cdecl("coreset_stage_push_csr")
public func coreset_stage_push_csr(
    _ stage: OpaquePointer?, _ indptr: UnsafePointer<Int64>?, _ indices: UnsafePointer<Int64>?, _ values: UnsafePointer<Double>?,
    _ rows: Int64, _ cols: Int64, _ labels: UnsafePointer<Double>?, _ weights: UnsafePointer<Double>?
) -> Int32 {
    guarded("coreset_stage_push_csr") { () throws(CFailure) in
        let h = try openStage(stage)
        guard try checkMatrix(h, rows: rows, cols: cols, labels: labels, weights: weights) else { return }
        try checkCSR(indptr, indices, values, rows: Int(rows), cols: cols)
        var records: [Record] = []
        records.reserveCapacity(Int(rows))
        for i in 0..<Int(rows) {
            let a = Int(indptr![i]), b = Int(indptr![i + 1])
            let features = FeatureVector(indices: (a..<b).map { UInt32(indices![$0]) }, values: (a..<b).map { Float(values![$0]) })
            records.append(Record(label: labels![i], features: features, weight: weights?[i] ?? 1))
        }
        let stage = h.stage, pushed = records
        runBlocking { await stage.push(pushed) }
    }
}

@_cdecl("coreset_stage_push_text")
public func coreset_stage_push_text(_ stage: OpaquePointer?, _ bytes: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
    guarded("coreset_stage_push_text") { () throws(CFailure) in
        let h = try openStage(stage)
        guard length >= 0 else { throw .argument("length is negative") }
        guard length > 0 else { return }
        guard let bytes else { throw .argument("bytes is NULL") }
        let chunk = Array(UnsafeRawBufferPointer(start: bytes, count: length))
        let stage = h.stage
        let failure: CoresetError? = runBlocking {
            do throws(CoresetError) {
                try await stage.push(text: chunk)
                return nil
            } catch { return error }
        }
        if let failure { throw CFailure(code: CORESET_ERROR_DATA, message: failure.description) }
    }
}

@_cdecl("coreset_stage_finish")
public func coreset_stage_finish(_ stage: OpaquePointer?) -> Int32 {
    guarded("coreset_stage_finish") { () throws(CFailure) in
        let h = try stageHandle(stage)
        let wasFinished = h.finished
        h.finished = true
        let stage = h.stage
        let failure: CoresetError? = runBlocking {
            do throws(CoresetError) {
                try await stage.finish()
                return nil
            } catch { return error }
        }
        // The strict-mode failure of the last line belongs to the first finish only.
        if let failure, !wasFinished { throw CFailure(code: CORESET_ERROR_DATA, message: failure.description) }
    }
}

@_cdecl("coreset_stage_snapshot")
public func coreset_stage_snapshot(_ stage: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("coreset_stage_snapshot") { () throws(CFailure) in
        guard let out else { throw .argument("out is NULL") }
        out.pointee = nil
        let h = try stageHandle(stage)
        let stage = h.stage
        let snapshot = runBlocking { await stage.snapshot() }
        out.pointee = OpaquePointer(Unmanaged.passRetained(SnapshotHandle(snapshot)).toOpaque())
    }
}

// MARK: Snapshot

@_cdecl("coreset_snapshot_free")
public func coreset_snapshot_free(_ snapshot: OpaquePointer?) {
    guard let snapshot else { return }
    Unmanaged<SnapshotHandle>.fromOpaque(UnsafeRawPointer(snapshot)).release()
}

@_cdecl("coreset_snapshot_records")
public func coreset_snapshot_records(_ snapshot: OpaquePointer?) -> Int64 {
    (try? snapshotHandle(snapshot)).map { Int64($0.snapshot.records) } ?? -1
}

@_cdecl("coreset_snapshot_skipped")
public func coreset_snapshot_skipped(_ snapshot: OpaquePointer?) -> Int64 {
    (try? snapshotHandle(snapshot)).map { Int64($0.snapshot.skipped) } ?? -1
}

@_cdecl("coreset_snapshot_count")
public func coreset_snapshot_count(_ snapshot: OpaquePointer?) -> Int64 {
    (try? snapshotHandle(snapshot)).map { Int64($0.snapshot.coreset.count) } ?? -1
}

@_cdecl("coreset_snapshot_progressive_loss")
public func coreset_snapshot_progressive_loss(_ snapshot: OpaquePointer?) -> Double {
    (try? snapshotHandle(snapshot))?.snapshot.progressiveLoss ?? .nan
}

@_cdecl("coreset_snapshot_elements")
public func coreset_snapshot_elements(
    _ snapshot: OpaquePointer?, _ ids: UnsafeMutablePointer<Int64>?, _ weights: UnsafeMutablePointer<Double>?,
    _ classes: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guarded("coreset_snapshot_elements") { () throws(CFailure) in
        let s = try snapshotHandle(snapshot).snapshot
        for (i, e) in s.coreset.elements.enumerated() {
            ids?[i] = Int64(e.id)
            weights?[i] = e.weight
            classes?[i] = Int32(e.classIndex)
        }
    }
}

private func element(_ snapshot: OpaquePointer?, _ i: Int64) throws(CFailure) -> WeightedCoreset.Element {
    let s = try snapshotHandle(snapshot).snapshot
    guard i >= 0, i < Int64(s.coreset.count) else { throw .argument("element \(i) is not in 0..<\(s.coreset.count)") }
    return s.coreset.elements[Int(i)]
}

@_cdecl("coreset_snapshot_element")
public func coreset_snapshot_element(_ snapshot: OpaquePointer?, _ i: Int64, _ label: UnsafeMutablePointer<Double>?, _ nnz: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("coreset_snapshot_element") { () throws(CFailure) in
        let e = try element(snapshot, i)
        label?.pointee = e.record.label
        nnz?.pointee = Int64(e.record.features.nonzeroCount)
    }
}

@_cdecl("coreset_snapshot_element_features")
public func coreset_snapshot_element_features(_ snapshot: OpaquePointer?, _ i: Int64, _ indices: UnsafeMutablePointer<UInt32>?, _ values: UnsafeMutablePointer<Float>?) -> Int32 {
    guarded("coreset_snapshot_element_features") { () throws(CFailure) in
        let f = try element(snapshot, i).record.features
        guard f.nonzeroCount == 0 || (indices != nil && values != nil) else { throw .argument("indices or values is NULL") }
        for p in 0..<f.nonzeroCount {
            indices![p] = f.indices[p]
            values![p] = f.values[p]
        }
    }
}

private func model(_ snapshot: OpaquePointer?) throws(CFailure) -> LinearModelSnapshot {
    guard let m = try snapshotHandle(snapshot).snapshot.model else { throw .state("the stage does not learn (learn=0): no model") }
    return m
}

/// The C loss code: the loss's position in `Loss.registered` (CORESET_LOSS_* in coreset.h).
private func lossCode(_ loss: Loss) -> Int32 {
    Int32(Loss.registered.firstIndex(of: loss) ?? -1)
}

@_cdecl("coreset_snapshot_has_model")
public func coreset_snapshot_has_model(_ snapshot: OpaquePointer?) -> Int32 {
    (try? snapshotHandle(snapshot))?.snapshot.model != nil ? 1 : 0
}

@_cdecl("coreset_snapshot_model_shape")
public func coreset_snapshot_model_shape(
    _ snapshot: OpaquePointer?, _ outputs: UnsafeMutablePointer<Int32>?, _ dimension: UnsafeMutablePointer<Int64>?, _ loss: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guarded("coreset_snapshot_model_shape") { () throws(CFailure) in
        let m = try model(snapshot)
        outputs?.pointee = Int32(m.outputCount)
        dimension?.pointee = Int64(m.dimension)
        loss?.pointee = lossCode(m.loss)
    }
}

@_cdecl("coreset_snapshot_model_parameters")
public func coreset_snapshot_model_parameters(_ snapshot: OpaquePointer?, _ weights: UnsafeMutablePointer<Double>?, _ bias: UnsafeMutablePointer<Double>?) -> Int32 {
    guarded("coreset_snapshot_model_parameters") { () throws(CFailure) in
        let m = try model(snapshot)
        let k = m.outputCount, d = m.dimension
        if let weights {
            for j in 0..<d {
                for o in 0..<k { weights[o * d + j] = Double(m.weights[j * k + o]) }
            }
        }
        if let bias {
            for o in 0..<k { bias[o] = m.hasBias ? Double(m.bias[o]) : 0 }
        }
    }
}

/// Predicts rows given as (column, value) sequences: linear outputs in doubles, then probabilities.
private func predictRows(
    _ snapshot: OpaquePointer?, what: Int32, rows: Int64, cols: Int64, columns: Int32, out: UnsafeMutablePointer<Double>?,
    row: (Int, (Int, Double) -> Void) -> Void
) throws(CFailure) {
    let m = try model(snapshot)
    guard rows >= 0, rows <= maxRows, cols >= 0, cols <= maxRows else { throw .argument("rows=\(rows) or cols=\(cols) is out of range") }
    let k = m.outputCount, d = m.dimension
    switch what {
    case 0:
        guard Int(columns) == k else { throw .argument("columns=\(columns), but the model has \(k) outputs") }
    case 1:
        guard m.loss.isProbabilistic else { throw .argument("the model's loss (\(m.loss.rawValue)) gives no probabilities") }
        // A single-output probabilistic loss gives [P(class 0), P(class 1)].
        let binary = !m.loss.outputsPerClass
        let needed = binary ? 2 : k
        guard binary ? columns == 2 : Int(columns) >= needed && columns <= Int32(LabelMap.maxClassId + 1) else {
            throw .argument("columns=\(columns): the model needs \(binary ? "exactly 2" : "at least \(needed)") classes")
        }
    default:
        throw .argument("what=\(what) is neither CORESET_PREDICT_DECISION nor CORESET_PREDICT_PROBA")
    }
    guard rows > 0 else { return }
    guard let out else { throw .argument("out is NULL") }
    let width = what == 0 ? k : (!m.loss.outputsPerClass ? 1 : Int(columns))
    var z = [Double](repeating: 0, count: width)
    for i in 0..<Int(rows) {
        for o in 0..<width { z[o] = o < k && m.hasBias ? Double(m.bias[o]) : 0 }
        var bad: (Int, Double)?
        row(i) { j, v in
            guard v.isFinite else {
                bad = bad ?? (j, v)
                return
            }
            guard j < d, v != 0 else { return }
            let base = j * k
            for o in 0..<k { z[o] += v * Double(m.weights[base + o]) }
        }
        if let (j, v) = bad { throw .argument("row \(i), column \(j): \(v) is not a finite number") }
        let result = what == 0 ? z : m.loss.probabilities(outputs: z)
        for o in 0..<Int(columns) { out[i * Int(columns) + o] = result[o] }
    }
}

@_cdecl("coreset_snapshot_predict_dense")
public func coreset_snapshot_predict_dense(
    _ snapshot: OpaquePointer?, _ what: Int32, _ x: UnsafePointer<Double>?, _ rows: Int64, _ cols: Int64, _ columns: Int32,
    _ out: UnsafeMutablePointer<Double>?
) -> Int32 {
    guarded("coreset_snapshot_predict_dense") { () throws(CFailure) in
        guard x != nil || rows == 0 || cols == 0 else { throw .argument("x is NULL") }
        if rows >= 0 && cols >= 0 { try checkEntries(rows: rows, cols: cols) }
        let c = Int(max(0, cols))
        try predictRows(snapshot, what: what, rows: rows, cols: cols, columns: columns, out: out) { i, visit in
            for j in 0..<c { visit(j, x![i * c + j]) }
        }
    }
}

@_cdecl("coreset_snapshot_predict_csr")
public func coreset_snapshot_predict_csr(
    _ snapshot: OpaquePointer?, _ what: Int32, _ indptr: UnsafePointer<Int64>?, _ indices: UnsafePointer<Int64>?, _ values: UnsafePointer<Double>?,
    _ rows: Int64, _ cols: Int64, _ columns: Int32, _ out: UnsafeMutablePointer<Double>?
) -> Int32 {
    guarded("coreset_snapshot_predict_csr") { () throws(CFailure) in
        guard rows >= 0, rows <= maxRows, cols >= 0, cols <= maxRows else { throw .argument("rows=\(rows) or cols=\(cols) is out of range") }
        guard rows > 0 else { return }
        // Structure only: values are checked per row as they are read, like dense input.
        guard let indptr else { throw .argument("indptr is NULL") }
        guard indptr[0] == 0 else { throw .argument("indptr[0] is \(indptr[0]), not 0") }
        for i in 0..<Int(rows) where indptr[i + 1] < indptr[i] { throw .argument("indptr[\(i + 1)] is below indptr[\(i)]") }
        guard indptr[Int(rows)] == 0 || (indices != nil && values != nil) else { throw .argument("indices or values is NULL") }
        for p in 0..<Int(indptr[Int(rows)]) where indices![p] < 0 || indices![p] >= cols {
            throw .argument("column index \(indices![p]) at entry \(p) is not in 0..<\(cols)")
        }
        try predictRows(snapshot, what: what, rows: rows, cols: cols, columns: columns, out: out) { i, visit in
            for p in Int(indptr[i])..<Int(indptr[i + 1]) { visit(Int(indices![p]), values![p]) }
        }
    }
}
