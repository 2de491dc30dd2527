import Testing
@testable import CoresetKit

@Suite struct VectorMathTests {
    @Test func denseAndSparseDotAgree() {
        let a = FeatureVector(dense: (0..<37).map { Float($0) * 0.5 })
        let b = FeatureVector(indices: [0, 3, 36, 40], values: [2, -1, 1, 7])
        let expected: Float = 0 * 2 + 1.5 * -1 + 18 * 1
        #expect(VectorMath.dot(a, b) == expected)
        #expect(VectorMath.dot(b, a) == expected)
        let c = FeatureVector(indices: [3, 40], values: [4, 2])
        #expect(VectorMath.dot(b, c) == -4 + 14)
        let d = FeatureVector(dense: (0..<37).map { Float(36 - $0) })
        var s: Float = 0
        for i in 0..<37 { s += Float(i) * 0.5 * Float(36 - i) }
        #expect(VectorMath.dot(a, d) == s)
    }
}
