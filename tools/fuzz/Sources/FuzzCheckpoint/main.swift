import FuzzSupport

/// One fuzz input through checkpoint decoding: CoresetSelector(restoring:), RunState and SelectState files.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .checkpoint)
}

// `FuzzCheckpoint --write-seeds DIR` writes real checkpoint seeds (tools/fuzz/make_seeds.py runs it).
if CommandLine.arguments.count == 3 && CommandLine.arguments[1] == "--write-seeds" {
    writeSeeds(try checkpointSeeds(), to: CommandLine.arguments[2])
} else {
    runFuzzer(fuzzTestOneInput)
}
