import Foundation

/// Runs a blocking call (a libcurl transfer) on a thread started for it, so
/// it never occupies a thread of Swift's cooperative pool (docs/ARCHITECTURE.md, Threads).
/// For rare calls only: each call starts a thread.
///
/// Cancelling the awaiting task does not interrupt `body`; bound it by other
/// means (libcurl's `CURLOPT_TIMEOUT_MS`).
func onDedicatedThread<T: Sendable>(named name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}
