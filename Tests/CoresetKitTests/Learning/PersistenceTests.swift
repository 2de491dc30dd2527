import Foundation
import Testing
@testable import CoresetKit

private func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.path
    return "\(dir)/coreset-learning-\(getpid())-\(UInt64.random(in: 0...UInt64.max))-\(name)"
}

extension LearningTests {
    @Suite struct PersistenceTests {
        @Test func saveLoadRoundTrip() throws {
            var learner = Learner(task: .multiclass)
            for rec in syntheticRecords(200, dimension: 9, nnz: 3, loss: .softmax, classes: 4, seed: 2) { learner.learn(rec) }
            let path = temporaryPath("model.json")
            defer { unlink(path) }
            try learner.save(to: path)
            let loaded = try Learner(contentsOf: path)
            #expect(loaded.modelFile() == learner.modelFile())
            #expect(loaded.classCount == learner.classCount && loaded.stepCount == learner.stepCount)
        #expect(loaded.modelFile().dimension == 9 && loaded.modelFile().outputCount == 4)
            let probe = FeatureVector(indices: [1, 4, 8], values: [0.5, 1, -2])
            // Saving folds the SGD scale factor into the weights: equal up to rounding.
            for (x, y) in zip(loaded.outputs(probe), learner.outputs(probe)) { #expect(abs(x - y) < 1e-12) }
            // No temporary files are left beside the model.
            let dir = (path as NSString).deletingLastPathComponent
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir)
                .filter { $0.hasPrefix((path as NSString).lastPathComponent + ".tmp") }
            #expect(leftovers.isEmpty)
        }

        @Test func clearErrorsForWrongFiles() throws {
            let learner = Learner(task: .binary)
            var file = learner.modelFile()
            file.formatVersion = 99
            let future = try JSONEncoder().encode(file)
            #expect(throws: ModelFileError.unsupportedVersion(found: 99, supported: 1)) { try Learner(modelData: future) }
            #expect(throws: ModelFileError.wrongFormat(found: "none")) { try Learner(modelData: Data("{\"a\":1}".utf8)) }
            #expect(throws: ModelFileError.self) { try Learner(modelData: Data("not json".utf8)) }
            file = learner.modelFile()
            file.weights = [1, 2, 3]
            #expect(throws: ModelFileError.self) { try Learner(modelData: try JSONEncoder().encode(file)) }
            #expect(throws: ModelFileError.self) { try Learner(contentsOf: "/nonexistent/dir/model.json") }
            #expect(throws: ModelFileError.self) { try learner.save(to: "/nonexistent/dir/model.json") }
            let text = ModelFileError.unsupportedVersion(found: 99, supported: 1).description
            #expect(text.contains("99"))
        }

        @Test(arguments: [OptimizerKind.sgd, .saga])
        func resumedTrainingEqualsUninterrupted(_ opt: OptimizerKind) throws {
            let recs = syntheticRecords(400, dimension: 15, nnz: 4, loss: .logistic, seed: 31)
            let config = LearnerConfiguration(task: .binary, l2: 1e-3,
                                              schedule: .inverseScaling(eta0: 0.5, decay: 0.01, power: 0.5), optimizer: opt)
            var straight = Learner(configuration: config)
            for rec in recs { straight.learn(rec) }

            var first = Learner(configuration: config)
            for rec in recs[..<150] { first.learn(rec) }
            let path = temporaryPath("resume.json")
            defer { unlink(path) }
            try first.save(to: path)
            var resumed = try Learner(contentsOf: path)
            for rec in recs[150...] { resumed.learn(rec) }

            #expect(resumed.stepCount == straight.stepCount && resumed.examplesSeen == 400)
            let a = straight.modelFile(), b = resumed.modelFile()
            #expect(a.weights.count == b.weights.count)
            for (x, y) in zip(a.weights, b.weights) { #expect(abs(x - y) <= 1e-12 * max(1, abs(x))) }
            #expect(abs(a.bias[0] - b.bias[0]) < 1e-12)
        }
    }
}
