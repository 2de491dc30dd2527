#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator setting for long streaming jobs; the `coreset` command calls it first thing.
public enum MemoryReturn {
    /// Fixes glibc's mmap threshold and its trim threshold at 4 MiB. Left to itself, glibc
    /// raises the mmap threshold to the size of each large block freed (up to 32 MB), after which grown
    /// matrices are carved from the heap and stay resident after free (mnist `select -k 100`: 91.7 MB
    /// peak instead of 81.6). Below the threshold, a record batch's arrays (about 1 MiB) come from the
    /// heap and are reused by the next batch: mapped afresh for each batch, their pages cost a fault
    /// apiece (census_kdd `stats`: 16,000 faults, a third of its time). No effect off glibc.
    public static func returnLargeFreedBlocks() {
        #if canImport(Glibc)
        // mallopt is not in Swift's Glibc module; M_TRIM_THRESHOLD is -1 and M_MMAP_THRESHOLD -3 in
        // glibc's malloc.h.
        if let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") {
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            _ = mallopt(-3, 4 << 20)
            _ = mallopt(-1, 4 << 20)
        }
        #endif
    }
}
