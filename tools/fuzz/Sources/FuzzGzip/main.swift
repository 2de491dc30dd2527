import FuzzSupport

/// One fuzz input through the whole reader: Gzip decompression (DecompressingSource), then LIBSVM.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .gzip)
}

runFuzzer(fuzzTestOneInput)
