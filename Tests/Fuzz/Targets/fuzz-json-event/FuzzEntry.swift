import IngestFuzzing

/// libFuzzer's entry point (libFuzzer supplies `main`; see scripts/fuzz.sh).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    _ = IngestFuzzing.jsonEvent(UnsafeRawBufferPointer(start: data, count: count))
    return 0
}
