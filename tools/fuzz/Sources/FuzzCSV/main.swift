import FuzzSupport

/// One fuzz input through the whole reader: the csv parser (plain text).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .csv)
}

runFuzzer(fuzzTestOneInput)
