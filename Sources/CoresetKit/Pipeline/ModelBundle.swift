#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The model file users handle: the learner's state (weights, optimizer state, configuration) plus
/// what is needed to read new data the same way (label names, feature names).
///
/// Versioned JSON, written atomically (temporary file, fsync, rename).
public struct ModelBundle: Codable, Sendable {
    public static let formatName = "coreset-model"
    /// Version 2 added `network` (and made `model` optional); linear bundles are still written as version 1.
    public static let currentVersion = 2

    public var format: String
    public var formatVersion: Int
    /// How labels map to class ids (so predictions print the input's label names).
    public var labels: LabelMap
    /// Names of features where the input had them (CSV headers, JSON keys); empty for LIBSVM/VW.
    public var featureNames: [String]
    /// Records the model has learned from, in the stream that trained it.
    public var recordsSeen: UInt64
    /// The linear learner, or nil when the bundle holds a neural network.
    public var model: ModelFile?
    /// The neural learner (`run --model mlp:...`), or nil for a linear model.
    public var network: NetworkModelFile?

    public init(labels: LabelMap, featureNames: [String], recordsSeen: UInt64, model: ModelFile) {
        format = Self.formatName
        formatVersion = Self.currentVersion
        self.labels = labels
        self.featureNames = featureNames
        self.recordsSeen = recordsSeen
        self.model = model
        network = nil
    }

    /// A bundle holding a neural network (format version 2).
    public init(labels: LabelMap, featureNames: [String], recordsSeen: UInt64, network: NetworkModelFile) {
        format = Self.formatName
        formatVersion = 2
        self.labels = labels
        self.featureNames = featureNames
        self.recordsSeen = recordsSeen
        model = nil
        self.network = network
    }

    /// Writes the bundle atomically.
    public func write(to path: String) throws(CoresetError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw .io(input: path, message: "cannot encode model: \(error)") }
        let file = try AtomicFile(path: path)
        do { try file.output.write(bytes: data) } catch { throw .io(input: path, message: "cannot write: \(error)") }
        try file.commit()
    }

    /// Reads a bundle, with clear errors for a wrong format or version.
    public static func read(from path: String) throws(CoresetError) -> ModelBundle {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .io(input: path, message: "cannot read model file")
        }
        struct Header: Decodable { var format: String?; var formatVersion: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw .badFile(path: path, message: "not a JSON model file")
        }
        guard header.format == formatName else {
            throw .badFile(path: path, message: "not a coreset model (format \(header.format.map { "\"\($0)\"" } ?? "missing"))")
        }
        guard let v = header.formatVersion, v <= currentVersion else {
            throw .badFile(path: path, message: "model format version \(header.formatVersion ?? -1) is newer than this coreset understands (\(currentVersion))")
        }
        do { return try JSONDecoder().decode(ModelBundle.self, from: data) } catch {
            throw .badFile(path: path, message: "corrupt model file: \(error)")
        }
    }

    /// The learner, ready to predict or to resume training.
    public func learner() throws(CoresetError) -> Learner {
        guard let model else {
            throw .badFile(path: "model", message: network == nil ? "the file holds no model"
                           : "the file holds a neural network (mlp), not a linear model")
        }
        do { return try Learner(modelFile: model) } catch { throw .badFile(path: "model", message: "\(error)") }
    }

    /// The model for prediction and evaluation, linear or neural.
    public func trainedModel() throws(CoresetError) -> TrainedModel {
        if let network {
            do { return .network(try network.network()) } catch { throw .badFile(path: "model", message: "\(error)") }
        }
        return .linear(try learner())
    }
}
