/// Maps the labels written in the input to class ids (classification) or targets (regression).
///
/// Rules, the same for every format so that a stream can be cut anywhere:
/// - regression (`--regression`): the label is the numeric target;
/// - numeric labels otherwise: -1 and 0 are class 0, an integer k >= 1 is class k (so +1/-1 and
///   1/0 are binary with 1 the positive class, and 0..K-1 or 1..K multiclass ids keep their value);
///   a non-integer label is an error that suggests `--regression`;
/// - string labels: class ids in order of first appearance.
/// Mixing numeric and string labels in one stream is an error.
public struct LabelMap: Sendable, Codable, Equatable {
    /// Largest class id accepted (guards against a stray huge integer label).
    public static let maxClassId = 65_535

    /// Whether labels are targets (true) or classes.
    public var isRegression: Bool
    /// The label text that first named each class id ("" where no record had that class).
    public private(set) var names: [String] = []
    private var stringIds: [String: Int] = [:]
    private var sawNumeric = false

    public init(regression: Bool = false) {
        isRegression = regression
    }

    /// Whether the classes were named by numbers (-1/+1, 0..K-1), not strings.
    public var hasNumericLabels: Bool { sawNumeric }

    /// Number of class ids in use (one past the largest seen).
    public var classCount: Int { names.count }

    /// The task implied by what has been seen.
    public var task: TaskKind {
        isRegression ? .regression : (classCount <= 2 ? .binary : .multiclass)
    }

    /// Label text for a class id, for writing records back out.
    public func name(of classId: Int) -> String {
        if classId < names.count, !names[classId].isEmpty { return names[classId] }
        return classId == 0 && sawNumeric && names.count <= 2 ? "-1" : String(classId)
    }

    /// Label value for a numeric label written as `text`.
    public mutating func label(numeric value: Double, text: @autoclosure () -> String) throws(ParseFailure) -> Double {
        guard value.isFinite else { throw ParseFailure("label is not a finite number") }
        if isRegression { return value }
        if !stringIds.isEmpty { throw ParseFailure("numeric label \(text()) in a stream of string labels") }
        guard value == value.rounded() else {
            throw ParseFailure("label \(text()) is not an integer class (use --regression for real-valued targets)")
        }
        // Range first: converting a huge value (1e300) to Int would trap.
        guard value >= -1, value <= Double(Self.maxClassId) else {
            throw ParseFailure("class label \(text()) out of range (-1 ... \(Self.maxClassId))")
        }
        let id = value == -1 ? 0 : Int(value)
        guard id >= 0 else {
            throw ParseFailure("class label \(text()) out of range (-1 ... \(Self.maxClassId))")
        }
        sawNumeric = true
        note(id, text())
        return Double(id)
    }

    /// Label value for a string label.
    public mutating func label(string: String) throws(ParseFailure) -> Double {
        if isRegression {
            guard let v = Double(string), v.isFinite else { throw ParseFailure("target \"\(string)\" is not a number") }
            return v
        }
        if let id = stringIds[string] { return Double(id) }
        if sawNumeric {
            if let v = Double(string) { return try label(numeric: v, text: string) }
            throw ParseFailure("string label \"\(string)\" in a stream of numeric labels")
        }
        guard stringIds.count <= Self.maxClassId else { throw ParseFailure("more than \(Self.maxClassId + 1) classes") }
        let id = stringIds.count
        stringIds[string] = id
        note(id, string)
        return Double(id)
    }

    private mutating func note(_ id: Int, _ text: @autoclosure () -> String) {
        if id >= names.count { names.append(contentsOf: repeatElement("", count: id + 1 - names.count)) }
        if names[id].isEmpty { names[id] = text() }
    }
}

/// Why one record could not be decoded; the reader adds the input name and line.
public struct ParseFailure: Error, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
