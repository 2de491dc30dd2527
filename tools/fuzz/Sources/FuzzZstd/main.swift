import FuzzSupport

/// One fuzz input through the whole reader: Zstd decompression (DecompressingSource), then LIBSVM.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .zstd)
}

runFuzzer(fuzzTestOneInput)
