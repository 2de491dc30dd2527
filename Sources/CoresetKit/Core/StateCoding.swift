/// Binary encoding of in-memory state for checkpoints (`--state DIR`).
///
/// Little-endian fixed-width integers and IEEE bit patterns, so floating-point state round-trips
/// bit for bit (a resumed run must continue from exactly the numbers it stopped with). Arrays are
/// length-prefixed. The layout is versioned by the file that holds it (`RunState.formatVersion`).
struct _StateWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    mutating func double(_ v: Double) { u64(v.bitPattern) }
    mutating func float(_ v: Float) { u32(v.bitPattern) }

    mutating func doubles(_ a: [Double]) {
        int(a.count)
        #if _endian(little)
        a.withUnsafeBytes { bytes.append(contentsOf: $0) }  // the same bytes as one double() each, at memcpy speed
        #else
        for v in a { double(v) }
        #endif
    }

    mutating func floats(_ a: [Float]) {
        int(a.count)
        #if _endian(little)
        a.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in a { float(v) }
        #endif
    }

    mutating func ints(_ a: [Int]) {
        int(a.count)
        #if _endian(little) && (arch(x86_64) || arch(arm64))
        a.withUnsafeBytes { bytes.append(contentsOf: $0) }  // Int is 64 bits here
        #else
        for v in a { int(v) }
        #endif
    }

    mutating func string(_ s: String) { blob(Array(s.utf8)) }

    mutating func blob(_ b: [UInt8]) {
        int(b.count)
        bytes.append(contentsOf: b)
    }

    mutating func optional<T>(_ v: T?, _ write: (inout _StateWriter, T) -> Void) {
        bool(v != nil)
        if let v { write(&self, v) }
    }

    mutating func array<T>(_ a: [T], _ write: (inout _StateWriter, T) -> Void) {
        int(a.count)
        for v in a { write(&self, v) }
    }

    mutating func record(_ r: Record) {
        double(r.label)
        double(r.weight)
        u64(r.position)
        int(r.features.indices.count)
        #if _endian(little)
        r.features.indices.withUnsafeBytes { bytes.append(contentsOf: $0) }
        r.features.values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for i in r.features.indices { u32(i) }
        for v in r.features.values { float(v) }
        #endif
    }
}

/// Reads what `_StateWriter` wrote; any inconsistency (short data, absurd lengths) is a `corrupt`
/// error naming the byte offset, never a crash.
struct _StateReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    struct Corrupt: Error, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "at byte \(offset): \(reason)" }
    }

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - offset else { throw Corrupt(offset: offset, reason: "truncated (wanted \(n) more bytes)") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u64() throws -> UInt64 {
        let s = try take(8)
        var v: UInt64 = 0
        for (i, b) in s.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    mutating func u32() throws -> UInt32 {
        let s = try take(4)
        var v: UInt32 = 0
        for (i, b) in s.enumerated() { v |= UInt32(b) << (8 * UInt32(i)) }
        return v
    }

    mutating func int() throws -> Int { Int(Int64(bitPattern: try u64())) }
    mutating func bool() throws -> Bool { try take(1).first! != 0 }
    mutating func double() throws -> Double { Double(bitPattern: try u64()) }
    mutating func float() throws -> Float { Float(bitPattern: try u32()) }

    /// A length prefix, checked against the bytes left (each element takes at least `minBytes`).
    mutating func count(minBytes: Int = 1) throws -> Int {
        let at = offset
        let n = try int()
        guard n >= 0, n <= (bytes.count - offset) / max(1, minBytes) else { throw Corrupt(offset: at, reason: "bad length \(n)") }
        return n
    }

    /// `n` little-endian values of a fixed-width type, copied in bulk.
    private mutating func bulk<T: FixedWidthInteger>(_ n: Int, as: T.Type) throws -> [T] {
        let s = try take(n * MemoryLayout<T>.size)
        var a = [T](repeating: 0, count: n)
        a.withUnsafeMutableBytes { dst in s.withUnsafeBytes { dst.copyMemory(from: $0) } }
        return a.map { T(littleEndian: $0) }
    }

    mutating func doubles() throws -> [Double] {
        try bulk(try count(minBytes: 8), as: UInt64.self).map { Double(bitPattern: $0) }
    }

    mutating func floats() throws -> [Float] {
        try bulk(try count(minBytes: 4), as: UInt32.self).map { Float(bitPattern: $0) }
    }

    mutating func ints() throws -> [Int] {
        try bulk(try count(minBytes: 8), as: UInt64.self).map { Int(Int64(bitPattern: $0)) }
    }

    mutating func blob() throws -> [UInt8] { Array(try take(try count())) }
    mutating func string() throws -> String { String(decoding: try blob(), as: UTF8.self) }

    mutating func optional<T>(_ read: (inout _StateReader) throws -> T) throws -> T? {
        try bool() ? try read(&self) : nil
    }

    mutating func array<T>(_ read: (inout _StateReader) throws -> T) throws -> [T] {
        let n = try count()
        var a: [T] = []
        a.reserveCapacity(n)
        for _ in 0..<n { a.append(try read(&self)) }
        return a
    }

    mutating func record() throws -> Record {
        let label = try double(), weight = try double(), position = try u64()
        let n = try count(minBytes: 8)
        let indices = try bulk(n, as: UInt32.self)
        let values = try bulk(n, as: UInt32.self).map { Float(bitPattern: $0) }
        for i in indices.indices.dropFirst() where indices[i] <= indices[i - 1] {
            throw Corrupt(offset: offset, reason: "feature indices not increasing")
        }
        return Record(label: label, features: FeatureVector(indices: indices, values: values), weight: weight, position: position)
    }
}
