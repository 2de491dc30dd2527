/// The model snapshot in checkpoints: what a selector measuring gradients saves of the snapshot it measures
/// at (`CoresetSelector.encodedState()`), and what a run saves of its latest model.
extension LinearModelSnapshot: _SavableGradientEmbedding {
    func encode(into w: inout _StateWriter) {
        w.int(version)
        w.string(loss.rawValue)
        w.int(classCount)
        w.int(outputCount)
        w.int(dimension)
        w.floats(weights)
        w.floats(bias)
        w.bool(hasBias)
    }

    init(decoding r: inout _StateReader) throws {
        version = try r.int()
        let name = try r.string()
        guard let l = Loss(rawValue: name) else { throw _StateReader.Corrupt(offset: r.offset, reason: "unknown loss \(name)") }
        loss = l
        classCount = try r.int()
        outputCount = try r.int()
        dimension = try r.int()
        weights = try r.floats()
        bias = try r.floats()
        hasBias = try r.bool()
        guard outputCount >= 1, dimension >= 0, weights.count >= dimension * outputCount, bias.count == outputCount else {
            throw _StateReader.Corrupt(offset: r.offset, reason: "inconsistent model snapshot")
        }
    }
}
