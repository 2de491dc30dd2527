import CoresetKit
import Foundation
import Glibc

// The fuzz targets that are not `RecordReader`: the coreset-file reader (`coreset merge`), the
// checkpoint readers (selector state, `RunState`, `SelectState`), model files and `FollowSource`.
// Shared with the test suite like FuzzCase.swift (Tests/CoresetKitTests/Fuzz links it); public API only.

// MARK: - coresetfile

/// `CoresetFileReader.read(path:)` on the input. Option byte: bits 0-2 format (0-3 the four
/// `CoresetFormat`s, else detected), bit 3 zero-based, bit 4 regression, bit 5 `;` delimiter; the
/// same reader then reads the file a second time (labels and names learned from the first).
///
/// Promises: errors are bad-record / bad-file (corrupt-input only for compressed bytes), never I/O
/// or usage; elements have finite labels, finite non-negative weights, sorted unique finite features,
/// a class index in range; reading twice gives the same elements.
public func coresetFileProblems(_ data: UnsafeRawBufferPointer) -> [String] {
    guard data.count > 0 else { return [] }
    let config = data[0]
    let content = Array(data[1...])
    let formats = CoresetFormat.allCases
    let format: CoresetFormat? = Int(config & 7) < formats.count ? formats[Int(config & 7)] : nil
    var options = ReaderOptions()
    options.zeroBasedIndices = config & 8 != 0
    options.regression = config & 16 != 0
    if config & 32 != 0 { options.csv.delimiter = UInt8(ascii: ";") }
    let compressed = content.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) || content.starts(with: [0x1F, 0x8B])
    let file = InputFile(content)
    var reader = CoresetFileReader(format: format, options: options)
    var problems: [String] = []
    func check(_ error: CoresetError) {
        switch error {
        case .badRecord, .badFile: break
        case .corruptInput: if !compressed { problems.append("corrupt-input error on a plain file: \(error)") }
        default: problems.append("unexpected error: \(error)")
        }
    }
    let first: WeightedCoreset
    do throws(CoresetError) { first = try reader.read(path: file.path) } catch {
        check(error)
        return problems
    }
    for (k, e) in first.elements.enumerated() {
        let r = e.record
        if !r.label.isFinite { problems.append("element \(k): label \(r.label)") }
        if !(e.weight.isFinite && e.weight >= 0) { problems.append("element \(k): weight \(e.weight)") }
        if e.classIndex < 0 || (!options.regression && e.classIndex >= reader.labels.classCount) {
            problems.append("element \(k): class index \(e.classIndex) of \(reader.labels.classCount)")
        }
        let f = r.features
        if f.indices.count != f.values.count { problems.append("element \(k): \(f.indices.count) indices, \(f.values.count) values") }
        for j in f.values.indices {
            if !f.values[j].isFinite { problems.append("element \(k): value \(f.values[j])") }
            if j > 0 && f.indices[j] <= f.indices[j - 1] { problems.append("element \(k): indices not increasing at \(j)") }
        }
    }
    do throws(CoresetError) {
        let again = try reader.read(path: file.path)
        if again.elements != first.elements { problems.append("a second read gives other elements") }
    } catch {
        problems.append("a second read fails: \(error)")
    }
    return problems
}

// MARK: - checkpoint

/// The selector configurations (and tasks) the checkpoint target restores with; the seeds are
/// `encodedState()` of selectors of these (see `checkpointSeeds`).
public let checkpointConfigurations: [(SelectorConfiguration, TaskKind)] = [
    (SelectorConfiguration(k: 4, referenceSize: 16, warmUp: 4, seed: 1), .binary),
    (SelectorConfiguration(k: 3, algorithm: .threeSieves, threeSievesPatience: 5, referenceSize: 8, warmUp: 3, window: 12, seed: 2), .multiclass),
    (SelectorConfiguration(k: 4, similarity: .cosine, space: .feature, referenceSize: 8, warmUp: 2, halfLife: 20, seed: 3, shards: 2), .binary),
    (SelectorConfiguration(k: 3, algorithm: .sieveStreaming, referenceSize: 8, warmUp: 2, seed: 4, weighting: .nearest), .regression),
]

/// Checkpoint bytes. Option byte: bits 0-1 what (0, 1: a selector state restored with configuration
/// bits 2-3; 2: a `RunState` file; 3: a `SelectState` file); for the two files the rest is the payload
/// and the harness writes the container around it (name, version, checksum), so the fuzzer spends
/// its time in the decoder; with bit 7 set the rest is the whole file.
///
/// Promises: errors are bad-file (`CoresetError.badFile`); a state that restores encodes back to
/// the same bytes after a second restore; a restored selector takes more records and finishes.
public func checkpointProblems(_ data: UnsafeRawBufferPointer) -> [String] {
    guard data.count > 0 else { return [] }
    let config = data[0]
    let content = Array(data[1...])
    switch config & 3 {
    case 0, 1: return selectorStateProblems(content, configuration: Int(config >> 2) & 3)
    default: return stateFileProblems(content, select: config & 3 == 3, raw: config & 128 != 0)
    }
}

func selectorStateProblems(_ bytes: [UInt8], configuration index: Int) -> [String] {
    let (configuration, task) = checkpointConfigurations[index]
    let selector: CoresetSelector
    do throws(CoresetError) { selector = try CoresetSelector(restoring: bytes, configuration: configuration, task: task) } catch {
        if case .badFile = error { return [] }
        return ["unexpected error: \(error)"]
    }
    var problems: [String] = []
    do throws(CoresetError) {
        let once = try selector.encodedState()
        let again = try CoresetSelector(restoring: once, configuration: configuration, task: task)
        if try again.encodedState() != once { problems.append("a restored state does not encode back to the same bytes") }
    } catch {
        return ["a restored state does not round-trip: \(error)"]
    }
    for r in seedRecords(count: 6, task: task, seed: UInt64(index)) { selector.offer(r) }
    selector.finish()
    return problems
}

/// A fresh directory in /dev/shm, removed (with its files) on deinit.
final class ScratchDirectory {
    let path = "/dev/shm/coreset-fuzz-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    init() { mkdir(path, 0o700) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A checkpoint file: format name, version, payload, FNV-1a checksum (`_CheckpointFile`).
public func checkpointFile(payload: [UInt8], format: String, version: Int) -> [UInt8] {
    func int(_ v: Int) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: Int64(v)) >> (8 * $0)) } }
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in payload { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    let name = Array(format.utf8)
    return int(name.count) + name + int(version) + int(payload.count) + payload + int(Int(Int64(bitPattern: h)))
}

func stateFileProblems(_ content: [UInt8], select: Bool, raw: Bool) -> [String] {
    let format = select ? SelectState.formatName : RunState.formatName
    let version = select ? SelectState.formatVersion : RunState.formatVersion
    let dir = ScratchDirectory()
    let file = InputFile(raw ? content : checkpointFile(payload: content, format: format, version: version))
    guard rename(file.path, RunState.path(inDirectory: dir.path)) == 0 else { return ["cannot place the checkpoint"] }
    func read(_ d: String) throws(CoresetError) -> Bool {
        if select { return try SelectState.read(fromDirectory: d) != nil }
        return try RunState.read(fromDirectory: d) != nil
    }
    func write(_ from: String, to d: String) throws(CoresetError) {
        if select { try SelectState.read(fromDirectory: from)!.write(toDirectory: d) } else { try RunState.read(fromDirectory: from)!.write(toDirectory: d) }
    }
    do throws(CoresetError) {
        guard try read(dir.path) else { return ["a checkpoint file was not found"] }
    } catch {
        if case .badFile = error { return [] }
        return ["unexpected error: \(error)"]
    }
    // Accepted: written back and read again, it writes the same bytes.
    let a = ScratchDirectory(), b = ScratchDirectory()
    do throws(CoresetError) {
        try write(dir.path, to: a.path)
        try write(a.path, to: b.path)
    } catch {
        return ["an accepted checkpoint does not round-trip: \(error)"]
    }
    let x = FileManager.default.contents(atPath: RunState.path(inDirectory: a.path))
    let y = FileManager.default.contents(atPath: RunState.path(inDirectory: b.path))
    return x != nil && x == y ? [] : ["an accepted checkpoint does not write back the same bytes"]
}

/// Deterministic small records for a task (classes 0-2, or real targets), dimension 6.
public func seedRecords(count: Int, task: TaskKind, seed: UInt64) -> [Record] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    return (0..<count).map { i in
        let classes: UInt64 = task == .binary ? 2 : 3
        let c = next() % classes
        let label = task == .regression ? Double(next() % 1000) / 100 : Double(c)
        var indices: [UInt32] = []
        var values: [Float] = []
        for j in 0..<6 where next() % 3 != 0 {
            indices.append(UInt32(j))
            values.append(Float(next() % 200) / 50 - 2 + Float(c))
        }
        return Record(label: label, features: FeatureVector(indices: indices, values: values), position: UInt64(i))
    }
}

/// Real checkpoint seeds (name, bytes with the option byte): selector states of each configuration
/// at a few points of a stream, and the `RunState` / `SelectState` payloads of small runs.
public func checkpointSeeds() throws -> [(String, [UInt8])] {
    var seeds: [(String, [UInt8])] = []
    for (i, (configuration, task)) in checkpointConfigurations.enumerated() {
        let selector = CoresetSelector(configuration: configuration, task: task)
        var offered = 0
        for n in [0, 3, 25] {
            for r in seedRecords(count: n - offered, task: task, seed: UInt64(i)) { selector.offer(r) }
            offered = n
            seeds.append(("selector-\(i)-\(n)", [UInt8(i << 2)] + (try selector.encodedState())))
        }
    }
    // A RunState from a small training run.
    let input = InputFile(Array(seedRecords(count: 60, task: .multiclass, seed: 9).map { r in
        "\(Int(r.label))" + zip(r.features.indices, r.features.values).map { " \($0 + 1):\($1)" }.joined() + "\n"
    }.joined().utf8))
    var options = ReaderOptions()
    options.chunkSize = 256
    options.prefetch = false
    var runConfiguration = RunConfiguration(selector: SelectorConfiguration(k: 4, referenceSize: 8, warmUp: 4, seed: 5))
    runConfiguration.synchronous = true
    let run = StreamingRun(reader: RecordReader(inputs: [.file(input.path)], options: options), configuration: runConfiguration)
    final class Box: @unchecked Sendable { var states: [RunState] = [] }
    let box = Box()
    run.stateCheckpointEvery = .records(20)
    run.onStateCheckpoint = { box.states.append($0) }
    _ = run.run()
    for (k, state) in box.states.prefix(2).enumerated() {
        let dir = ScratchDirectory()
        try state.write(toDirectory: dir.path)
        let file = [UInt8](FileManager.default.contents(atPath: RunState.path(inDirectory: dir.path))!)
        seeds.append(("runstate-\(k)", [2] + payload(ofCheckpointFile: file)))
    }
    // A SelectState around the last selector state.
    let reader = RecordReader(inputs: [.file(input.path)], options: options)
    while let _ = try reader.next() {}
    if let position = reader.position {
        let (configuration, task) = checkpointConfigurations[0]
        let selector = CoresetSelector(configuration: configuration, task: task)
        for r in seedRecords(count: 10, task: task, seed: 0) { selector.offer(r) }
        let summary = StreamSummary(regression: false)
        let state = SelectState(options: "--k 4", inputs: [try InputIdentity(path: input.path)], reader: position, task: task,
                                selector: try selector.encodedState(), summary: summary, nextEmit: 20, emissions: 1)
        let dir = ScratchDirectory()
        try state.write(toDirectory: dir.path)
        let file = [UInt8](FileManager.default.contents(atPath: RunState.path(inDirectory: dir.path))!)
        seeds.append(("selectstate-0", [3] + payload(ofCheckpointFile: file)))
        seeds.append(("selectstate-raw", [3 | 128] + file))
    }
    return seeds
}

/// The payload of a checkpoint file (after the name and version, before the checksum).
func payload(ofCheckpointFile f: [UInt8]) -> [UInt8] {
    func int(at o: Int) -> Int { Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(f[o + $1]) << (8 * UInt64($1)) }) }
    let nameLength = int(at: 0)
    let at = 8 + nameLength + 8
    let n = int(at: at)
    return Array(f[(at + 8)..<(at + 8 + n)])
}

// MARK: - model

/// `ModelBundle.read(from:)` on the input (no option byte), then the learner / network it holds.
///
/// Promises: errors are bad-file / I/O-free `CoresetError`s; an accepted model predicts on a few
/// records (including features beyond its dimension) without trapping, and written back and read
/// again it writes the same bytes.
public func modelProblems(_ data: UnsafeRawBufferPointer) -> [String] {
    let file = InputFile(Array(data))
    let bundle: ModelBundle
    do throws(CoresetError) { bundle = try ModelBundle.read(from: file.path) } catch {
        if case .badFile = error { return [] }
        return ["unexpected error: \(error)"]
    }
    let model: TrainedModel
    do throws(CoresetError) { model = try bundle.trainedModel() } catch {
        if case .badFile = error { return [] }
        return ["unexpected error from trainedModel(): \(error)"]
    }
    var records = seedRecords(count: 3, task: .multiclass, seed: 1)
    records.append(Record(label: 0, features: FeatureVector(indices: [0, 70_000], values: [1, -1])))
    records.append(Record(label: 0, features: FeatureVector()))
    for r in records {
        _ = model.predict(r.features)
        _ = model.probabilities(r.features)
    }
    let a = ScratchDirectory()
    do throws(CoresetError) {
        try bundle.write(to: a.path + "/a.json")
        let back = try ModelBundle.read(from: a.path + "/a.json")
        try back.write(to: a.path + "/b.json")
    } catch {
        // JSON cannot hold non-finite numbers: such a model is refused when written, not trapped on.
        if case .io = error { return [] }
        return ["an accepted model does not round-trip: \(error)"]
    }
    let x = FileManager.default.contents(atPath: a.path + "/a.json"), y = FileManager.default.contents(atPath: a.path + "/b.json")
    return x != nil && x == y ? [] : ["an accepted model does not write back the same bytes"]
}

/// Real model seeds (name, JSON): a linear model of each task and a small network.
public func modelSeeds() throws -> [(String, [UInt8])] {
    var seeds: [(String, [UInt8])] = []
    let dir = ScratchDirectory()
    for task in TaskKind.allCases {
        var learner = Learner(task: task)
        var labels = LabelMap(regression: task == .regression)
        for r in seedRecords(count: 20, task: task, seed: 3) {
            _ = learner.learn(r)
            _ = try? labels.label(numeric: r.label, text: "\(r.label)")
        }
        let bundle = ModelBundle(labels: labels, featureNames: task == .multiclass ? ["a", "b", "c"] : [], recordsSeen: 20, model: learner.modelFile())
        try bundle.write(to: dir.path + "/\(task).json")
        seeds.append(("linear-\(task)", [UInt8](FileManager.default.contents(atPath: dir.path + "/\(task).json")!)))
    }
    let network = NeuralNetwork(inputDimension: 4, hidden: [3], classCount: 2, seed: 7)
    let optimizer = NetworkOptimizer(schedule: .constant(eta0: 0.1))
    let bundle = ModelBundle(labels: LabelMap(), featureNames: [], recordsSeen: 0,
                             network: NetworkModelFile(network: network, optimizer: optimizer, crest: CrestConfiguration()))
    try bundle.write(to: dir.path + "/mlp.json")
    seeds.append(("mlp", [UInt8](FileManager.default.contents(atPath: dir.path + "/mlp.json")!)))
    return seeds
}

// MARK: - follow

/// `FollowSource` on a file the input changes under it. Option byte: read buffer size 1-256. Then
/// operations, each one byte `op | length << 2` followed by `length` (0-63) bytes of data: 0 append,
/// 1 truncate to half then append, 2 replace the file (rotation: a new file renamed over the path),
/// 3 rewrite in place (truncate to 0, write). After each, the source is read until it has nothing
/// (idle timeout 0). At most 24 operations.
///
/// Promises: no error; after each drain the source is at the end of the file; what a drain returned
/// is the file from where the source was (or from its start after a reported restart).
public func followProblems(_ data: UnsafeRawBufferPointer) -> [String] {
    guard data.count > 0 else { return [] }
    let bufferSize = Int(data[0]) + 1
    let dir = ScratchDirectory()
    let path = dir.path + "/log"
    var contents: [UInt8] = []
    func put(_ bytes: [UInt8], flags: Int32, at p: String = path) {
        let fd = open(p, flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
    put([], flags: O_TRUNC)
    let source = FollowSource(path: path, pollInterval: 0.0001, idleTimeout: 0)
    var buffer = [UInt8](repeating: 0, count: bufferSize)
    var problems: [String] = []
    var i = 1, ops = 0
    while i < data.count && ops < 24 && problems.isEmpty {
        let op = data[i] & 3, n = min(Int(data[i] >> 2), data.count - i - 1)
        let piece = Array(data[(i + 1)..<(i + 1 + n)])
        i += 1 + n
        ops += 1
        switch op {
        case 0:
            put(piece, flags: O_APPEND)
            contents += piece
        case 1:
            let keep = contents.count / 2
            _ = truncate(path, off_t(keep))
            put(piece, flags: O_APPEND)
            contents = Array(contents[0..<keep]) + piece
        case 2:
            put(piece, flags: O_TRUNC, at: path + ".new")
            _ = rename(path + ".new", path)
            contents = piece
        default:
            put(piece, flags: O_TRUNC)
            contents = piece
        }
        let before = Int(source.offset)
        var got: [UInt8] = []
        while true {
            var n = 0
            var failure: CoresetError?
            buffer.withUnsafeMutableBytes { b in
                do throws(CoresetError) { n = try source.read(into: b) } catch { failure = error }
            }
            if let failure {
                problems.append("operation \(ops): \(failure)")
                break
            }
            if n == 0 { break }
            got += buffer[0..<n]
        }
        let restart = source.takeRestart()
        if Int(source.offset) != contents.count {
            problems.append("operation \(ops) (\(op)): at byte \(source.offset) of \(contents.count)")
        }
        let from = restart != nil ? 0 : before
        if from > contents.count || got != Array(contents[from...]) {
            problems.append("operation \(ops) (\(op)): read \(got.count) bytes that are not the file from byte \(from) (restart \(String(describing: restart)))")
        }
    }
    return problems
}
