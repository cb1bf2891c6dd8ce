import Foundation
import Synchronization

/// A fixed set of threads for blocking C calls: libnats connects, flushes,
/// drains and JetStream round trips, libcurl SMTP transfers. Such a call
/// must never run on Swift's cooperative pool (two cores here: one stuck
/// call would halve the service), and starting a thread per call cost more
/// than the call itself on the durable path (docs/ARCHITECTURE.md, Threads).
///
/// Jobs run in the order submitted, at most `threads` at a time; the rest
/// wait in the queue. A job must not wait on another job of the same pool.
/// The threads are started on first use and live as long as the process.
public final class BlockingPool: Sendable {
    /// The pool every module uses. Sixteen threads: room for every
    /// integration's outbox delivery plus the engine loop's state writes,
    /// so a receiver's slow SMTP server does not hold up a KV write.
    public static let shared = BlockingPool(threads: 16, name: "nats-alerter.blocking")

    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var head = 0
        var started = false

        mutating func take() -> (@Sendable () -> Void)? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head > 64 && head * 2 > jobs.count {  // compact now and then, not per job
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    private let queue = Mutex(Queue())
    /// Counts queued jobs; each thread waits on it for the next one.
    private let available = DispatchSemaphore(value: 0)
    private let threads: Int
    private let name: String

    public init(threads: Int, name: String) {
        precondition(threads > 0, "a blocking pool needs at least one thread")
        self.threads = threads
        self.name = name
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    /// Cancelling the awaiting task does not interrupt `body`: bound it by
    /// the C library's own timeout.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            submit {
                do throws(E) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        let start = queue.withLock { queue in
            queue.jobs.append(job)
            defer { queue.started = true }
            return !queue.started
        }
        if start {
            for index in 0..<threads {
                let thread = Thread { [self] in work() }
                thread.name = "\(name)-\(index)"
                thread.start()
            }
        }
        available.signal()
    }

    private func work() {
        while true {
            available.wait()
            if let job = queue.withLock({ $0.take() }) { job() }
        }
    }
}

/// Runs a blocking call on the shared `BlockingPool`.
/// - Parameter name: what the call is, for readers of the call site.
public func runBlocking<T: Sendable, E: Error>(
    _ name: String = "blocking call",
    _ body: @escaping @Sendable () throws(E) -> T
) async throws(E) -> T {
    try await BlockingPool.shared.run(body)
}
