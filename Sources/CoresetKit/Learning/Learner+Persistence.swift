#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors reading or writing a model file.
public enum ModelFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a coreset model (wrong or missing `format`).
    case wrongFormat(found: String)
    /// The file's format version is not one this build reads.
    case unsupportedVersion(found: Int, supported: Int)
    /// The file parses but its fields are inconsistent.
    case corrupt(String)
    /// The JSON could not be decoded.
    case undecodable(String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .wrongFormat(let f): return "not a coreset model file (format \"\(f)\", expected \"\(ModelFile.formatName)\")"
        case .unsupportedVersion(let v, let s): return "model file format version \(v) is not supported (this build reads \(s))"
        case .corrupt(let m): return "corrupt model file: \(m)"
        case .undecodable(let m): return "model file is not valid JSON for this format: \(m)"
        case .io(let op, let path, let e): return "\(op) \(path): \(String(cString: strerror(e)))"
        }
    }
}

/// The versioned JSON form of a learner: enough to predict and to resume training.
///
/// Weights are the effective ones, feature-major: `weights[j * outputCount + k]`. Replay state (the
/// SAGA table, SVRG anchor) is not saved: after loading, set a replay set again.
public struct ModelFile: Codable, Sendable, Hashable {
    public static let formatName = "coreset-linear-model"
    public static let currentVersion = 1

    public var format: String
    public var formatVersion: Int
    public var configuration: LearnerConfiguration
    public var classCount: Int
    public var outputCount: Int
    public var dimension: Int
    public var weights: [Double]
    public var bias: [Double]
    /// Optimizer state.
    public var stepCount: Int
    public var replayStepCount: Int
    public var examplesSeen: Int
    public var weightSeen: Double
    public var snapshotVersion: Int
    public var rngState: UInt64
    /// Checkpoints only (absent from model files): the weights as the learner holds them, raw storage
    /// (feature-major, `dimension · outputCount`) times a scale, so that a resumed learner takes the very
    /// steps an uninterrupted one takes (from the effective weights alone, its rounding differs).
    public var exactWeights: ExactWeights?

    public struct ExactWeights: Codable, Sendable, Hashable {
        public var storage: [Double]
        public var scale: Double
    }
}

extension Learner {
    /// The learner as a model file value (lazy coordinates are caught up in a copy).
    /// - Complexity: O(dimension · K).
    public func modelFile() -> ModelFile {
        var copy = self
        copy.flush()
        let m = copy.model
        // Storage grows geometrically; write only the columns of features actually seen.
        let d = min(featureCount, m.dimension)
        return ModelFile(
            format: ModelFile.formatName, formatVersion: ModelFile.currentVersion, configuration: configuration,
            classCount: classCount, outputCount: m.outputCount, dimension: d,
            weights: Array(m.weights[0..<(d * m.outputCount)]),
            bias: m.bias, stepCount: stepCount, replayStepCount: replayStepCount, examplesSeen: examplesSeen,
            weightSeen: weightSeen, snapshotVersion: version, rngState: rng.state)
    }

    /// `modelFile()` with the weights exactly as held (`ModelFile.exactWeights`), for checkpoints.
    public func checkpointModelFile() -> ModelFile {
        var copy = self
        copy.flush()
        var f = copy.modelFile()
        let m = copy.model
        f.exactWeights = ModelFile.ExactWeights(storage: Array(m.storage[0..<(f.dimension * m.outputCount)]), scale: m.scale)
        return f
    }

    /// Restores a learner from a model file value.
    /// - Throws: `ModelFileError` when the value is of another format, version or inconsistent.
    public init(modelFile f: ModelFile) throws {
        guard f.format == ModelFile.formatName else { throw ModelFileError.wrongFormat(found: f.format) }
        guard f.formatVersion == ModelFile.currentVersion else {
            throw ModelFileError.unsupportedVersion(found: f.formatVersion, supported: ModelFile.currentVersion)
        }
        guard f.outputCount >= 1, f.dimension >= 0, f.weights.count == f.outputCount * f.dimension,
              f.bias.count == f.outputCount,
              f.outputCount == f.configuration.loss.outputCount(classCount: f.classCount) || !f.configuration.loss.outputsPerClass
        else {
            throw ModelFileError.corrupt(
                "outputCount \(f.outputCount), dimension \(f.dimension), \(f.weights.count) weights, \(f.bias.count) biases")
        }
        self.init(configuration: f.configuration)
        if let exact = f.exactWeights, exact.storage.count == f.weights.count, exact.scale > 0, exact.scale.isFinite {
            model = LinearModel(outputCount: f.outputCount, dimension: f.dimension, weights: exact.storage, bias: f.bias,
                                fitsBias: f.configuration.fitsBias)
            model.scale = exact.scale
        } else {
            model = LinearModel(outputCount: f.outputCount, dimension: f.dimension, weights: f.weights, bias: f.bias,
                                fitsBias: f.configuration.fitsBias)
        }
        classCount = f.classCount
        featureCount = f.dimension
        stepCount = f.stepCount
        replayStepCount = f.replayStepCount
        examplesSeen = f.examplesSeen
        weightSeen = f.weightSeen
        version = f.snapshotVersion
        rng = SeededGenerator(seed: 0)
        rng.state = f.rngState
    }

    /// Encodes the model as pretty-printed JSON.
    /// - Throws: `EncodingError` for non-finite weights.
    public func encodedModel() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(modelFile())
    }

    /// Decodes a learner from JSON model bytes.
    /// - Throws: `ModelFileError`.
    public init(modelData data: Data) throws {
        // Check the header first so a wrong file gets a clear message rather than a missing key.
        struct Header: Decodable { var format: String?; var formatVersion: Int? }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data) } catch {
            throw ModelFileError.undecodable("\(error)")
        }
        guard header.format == ModelFile.formatName else { throw ModelFileError.wrongFormat(found: header.format ?? "none") }
        guard header.formatVersion == ModelFile.currentVersion else {
            throw ModelFileError.unsupportedVersion(found: header.formatVersion ?? -1, supported: ModelFile.currentVersion)
        }
        let f: ModelFile
        do { f = try JSONDecoder().decode(ModelFile.self, from: data) } catch {
            throw ModelFileError.undecodable("\(error)")
        }
        try self.init(modelFile: f)
    }

    /// Writes the model atomically: a temporary file in the same directory, fsync, rename, then
    /// fsync of the directory, so a crash leaves either the old or the new file.
    /// - Complexity: O(dimension · K).
    /// - Throws: `ModelFileError.io` or an encoding error.
    public func save(to path: String) throws {
        try Learner.writeAtomically(try encodedModel(), to: path)
    }

    /// Reads a model file written by `save(to:)`.
    /// - Throws: `ModelFileError`.
    public init(contentsOf path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelFileError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ModelFileError.io(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        try self.init(modelData: data)
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        let dir: String
        if let slash = path.lastIndex(of: "/") {
            dir = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            dir = "."
        }
        var template = Array((path + ".tmp.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ModelFileError.io(operation: "create temporary for", path: path, errno: errno) }
        let tmp = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(fd, raw.baseAddress! + off, raw.count - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw ModelFileError.io(operation: "write", path: tmp, errno: errno)
                    }
                    off += n
                }
            }
            // mkstemp creates 0600; a model is an ordinary output file.
            fchmod(fd, 0o644)
            guard fsync(fd) == 0 else { throw ModelFileError.io(operation: "fsync", path: tmp, errno: errno) }
        }
        guard rename(tmp, path) == 0 else { throw ModelFileError.io(operation: "rename to", path: path, errno: errno) }
        ok = true
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 {
            _ = fsync(dfd)  // best effort: some file systems refuse fsync on directories
            close(dfd)
        }
    }
}
