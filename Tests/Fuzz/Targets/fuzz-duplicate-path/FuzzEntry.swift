import FuzzDriver
import IngestFuzzing

/// The input callback. Exported under libFuzzer's name too: the fuzzer
/// runtime's own `main` object (linked, but not used) refers to it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    DuplicatePathOracle.fuzz(UnsafeRawBufferPointer(start: data, count: count))
    return 0
}

@main
struct FuzzEntry {
    static func main() {
        runFuzzer(fuzzOneInput)
    }
}
