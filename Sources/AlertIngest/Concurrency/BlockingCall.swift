import Foundation

/// Runs a blocking call (a libnats connect, flush or drain) on a thread of
/// its own, never on Swift's cooperative pool, where it would stall other
/// tasks (docs/ARCHITECTURE.md, Threads). For rare calls only: each call starts a thread.
public func runBlocking<T: Sendable, E: Error>(
    _ name: String = "nats-alerter.blocking",
    _ body: @escaping @Sendable () throws(E) -> T
) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        let thread = Thread {
            do throws(E) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        thread.name = name
        thread.start()
    }
    return try result.get()
}
