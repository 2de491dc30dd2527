import FuzzSupport

/// One fuzz input through RecordReader on raw log lines (RecordFormat.text, TextOptions from a second option byte).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .text)
}

runFuzzer(fuzzTestOneInput)
