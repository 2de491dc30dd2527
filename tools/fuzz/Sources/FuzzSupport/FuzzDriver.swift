import Glibc

/// Runs a target under libFuzzer: each input is checked by `fuzzProblems`, and a broken promise
/// aborts the process so libFuzzer keeps the input as a crash.
///
/// SwiftPM links every executable with `--defsym main=<Target>_main`, so libFuzzer's own `main` is
/// never linked in (and with `-parse-as-library` the symbol would be missing): each target's
/// `main.swift` calls this, which hands control to `LLVMFuzzerRunDriver`.
public func runFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// The body of every target's `LLVMFuzzerTestOneInput`.
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int, target: FuzzTarget) -> Int32 {
    guard let data else { return 0 }
    let problems = fuzzProblems(UnsafeRawBufferPointer(start: data, count: size), target: target)
    if let first = problems.first {
        let text = "fuzz invariant broken: \(first)\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        abort()
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// Writes generated seeds (`FuzzCheckpoint --write-seeds DIR`, `FuzzModel --write-seeds DIR`): DIR
/// is emptied of `seed-*` files first.
public func writeSeeds(_ seeds: [(String, [UInt8])], to dir: String) {
    mkdir(dir, 0o755)
    if let d = opendir(dir) {
        var old: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("seed-") { old.append(name) }
        }
        closedir(d)
        for name in old { unlink(dir + "/" + name) }
    }
    for (name, bytes) in seeds {
        let path = dir + "/seed-" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create \(path)")
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
    print("wrote \(seeds.count) seeds to \(dir)")
}
