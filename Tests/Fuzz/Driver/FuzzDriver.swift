#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's own driver (`FuzzerDriver.cpp`, linked by `-sanitize=fuzzer`):
/// parses libFuzzer's flags from the command line and calls `callback` per input.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with this process's arguments and exits with its status.
/// The fuzz executables have a Swift `main` (SwiftPM links every executable
/// through `<module>_main`), so they start libFuzzer from it rather than
/// using libFuzzer's `main`.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}
