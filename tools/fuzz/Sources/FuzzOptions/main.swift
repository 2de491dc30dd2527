import CoresetCLI
import FuzzSupport
import Glibc

/// One fuzz input as a command line (arguments split at NUL and newline bytes) through the option
/// parser and every command's validation, without running the command: a crash or trap is a finding;
/// errors are the expected answer to most inputs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let arguments = Coreset.fuzzArguments(UnsafeRawBufferPointer(start: data, count: size))
    if Coreset.parseOnly(arguments).isEmpty {
        _ = "fuzz invariant broken: an empty answer\n".withCString { write(2, $0, strlen($0)) }
        abort()
    }
    return 0
}

runFuzzer(fuzzTestOneInput)
