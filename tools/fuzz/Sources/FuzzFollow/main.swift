import FuzzSupport

/// One fuzz input through FollowSource on a file appended to, truncated and replaced under it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .follow)
}

runFuzzer(fuzzTestOneInput)
