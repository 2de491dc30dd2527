import FuzzSupport

/// One fuzz input through CoresetFileReader (coreset merge input) on a file of the input's bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .coresetfile)
}

runFuzzer(fuzzTestOneInput)
