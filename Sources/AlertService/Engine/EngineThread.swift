import Dispatch
import Foundation
import Synchronization

/// The serial executor the `EngineHost` actor runs on: one thread of its
/// own, outside Swift's cooperative pool (docs/ARCHITECTURE.md, Threads).
/// The pool has one thread per core; an engine step that works through a
/// flush of a million alerts would otherwise hold one of them, and on a
/// two-core machine `/-/healthy` and `/metrics` would wait behind it.
/// Thread-safe: jobs are queued under a lock and run in order on the thread.
final class EngineThread: SerialExecutor, Sendable {
    /// Every `EngineHost` of the process shares it (tests build many).
    static let shared = EngineThread(name: "nats-alerter.engine")

    private let queue = Mutex<[UnownedJob]>([])
    private let wakeUp = DispatchSemaphore(value: 0)

    private init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.withLock { $0.append(job) }
        wakeUp.signal()
    }

    private func run() {
        while true {
            wakeUp.wait()
            let jobs = queue.withLock { queue in
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            for job in jobs { job.runSynchronously(on: asUnownedSerialExecutor()) }
        }
    }
}
