import FuzzSupport

/// One fuzz input through ModelBundle.read(from:) and the learner or network it holds.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzOneInput(data, size, target: .model)
}

// `FuzzModel --write-seeds DIR` writes real model seeds (tools/fuzz/make_seeds.py runs it).
if CommandLine.arguments.count == 3 && CommandLine.arguments[1] == "--write-seeds" {
    writeSeeds(try modelSeeds(), to: CommandLine.arguments[2])
} else {
    runFuzzer(fuzzTestOneInput)
}
