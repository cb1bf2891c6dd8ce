public import AlertCore
import Synchronization

/// Carries the rare results of ingest (new alerts, resolves, refusals) from
/// the NATS delivery threads into Swift concurrency, in batches.
///
/// Producers (`append`) run on libnats threads and never block beyond a short
/// lock. One consumer awaits `nextBatch()`, which returns everything queued
/// since its last call — so a burst of a thousand new alerts costs one wake-up,
/// not a thousand (DESIGN.md §3). Bounded: past `capacity` queued items the
/// oldest-first order is kept and newer items are dropped and counted, so a
/// stalled consumer cannot grow memory without bound.
public final class AlertTransitionBuffer: Sendable {
    private struct State {
        var items: [AlertTransition] = []
        var waiter: CheckedContinuation<[AlertTransition], Never>?
        var finished = false
        /// A wake-up that came while no consumer waited: the next
        /// `nextBatch` returns at once instead of sleeping through it.
        var pendingWake = false
        var dropped = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 1_000_000) {
        self.capacity = capacity
    }

    public func append(_ transition: AlertTransition) {
        let wake: (CheckedContinuation<[AlertTransition], Never>, [AlertTransition])? = state.withLock { state in
            guard !state.finished else { return nil }
            guard state.items.count < capacity else {
                state.dropped += 1
                return nil
            }
            state.items.append(transition)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            let items = state.items
            state.items = []
            return (waiter, items)
        }
        if let (waiter, items) = wake {
            waiter.resume(returning: items)
        }
    }

    /// Items dropped because the buffer was full.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Waits for and returns the next batch; an empty batch means the buffer
    /// was finished (or the waiting task cancelled) and nothing is left.
    public func nextBatch() async -> [AlertTransition] {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: [AlertTransition]? = state.withLock { state in
                    if !state.items.isEmpty || state.finished || state.pendingWake || Task.isCancelled {
                        let items = state.items
                        state.items = []
                        state.pendingWake = false
                        return items
                    }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                let waiter = state.waiter
                state.waiter = nil
                return waiter
            }
            waiter?.resume(returning: [])
        }
    }

    /// No more items will come; wakes the consumer, which gets what is left.
    public func finish() {
        let (waiter, items): (CheckedContinuation<[AlertTransition], Never>?, [AlertTransition]) = state.withLock { state in
            state.finished = true
            let waiter = state.waiter
            state.waiter = nil
            guard waiter != nil else { return (nil, []) }
            let items = state.items
            state.items = []
            return (waiter, items)
        }
        waiter?.resume(returning: items)
    }

    /// Wakes a waiting consumer with whatever is queued (possibly nothing),
    /// without finishing: used when the consumer must re-check its state.
    public func wake() {
        let wake: (CheckedContinuation<[AlertTransition], Never>, [AlertTransition])? = state.withLock { state in
            guard let waiter = state.waiter else {
                state.pendingWake = true
                return nil
            }
            state.waiter = nil
            let items = state.items
            state.items = []
            return (waiter, items)
        }
        if let (waiter, items) = wake { waiter.resume(returning: items) }
    }

    /// Takes whatever is queued without waiting.
    public func drainNow() -> [AlertTransition] {
        state.withLock { state in
            let items = state.items
            state.items = []
            return items
        }
    }
}
