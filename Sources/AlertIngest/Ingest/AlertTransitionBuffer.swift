public import AlertCore
import Synchronization

/// Carries the rare results of ingest (new alerts, resolves, refusals) from
/// the NATS delivery threads into Swift concurrency, in batches.
///
/// Producers (`append`) run on libnats threads and never block beyond a short
/// lock. One consumer awaits `nextBatch()`, which returns everything queued
/// since its last call — so a burst of a thousand new alerts costs one wake-up,
/// not a thousand (docs/ARCHITECTURE.md, Threads). Bounded: past `capacity` queued items the
/// oldest-first order is kept and newer items are dropped and counted, so a
/// stalled consumer cannot grow memory without bound.
public final class AlertTransitionBuffer: Sendable {
    private struct State {
        var items: [AlertTransition] = []
        /// The acknowledgement of each queued item (durable mode), parallel to `items`.
        var acknowledgements: [(any Acknowledgeable)?] = []
        /// Acknowledgements of items already handed to the consumer, waiting
        /// for `takeAcknowledgements()` (after their effect is recorded).
        var handedOut: [any Acknowledgeable] = []
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

    public func append(_ transition: AlertTransition, acknowledgement: (any Acknowledgeable)? = nil) {
        let wake: (CheckedContinuation<[AlertTransition], Never>, [AlertTransition])? = state.withLock { state in
            guard !state.finished else { return nil }
            guard state.items.count < capacity else {
                state.dropped += 1
                return nil
            }
            state.items.append(transition)
            state.acknowledgements.append(acknowledgement)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, Self.takeItems(&state))
        }
        if let (waiter, items) = wake {
            waiter.resume(returning: items)
        }
    }

    /// Queues a transition unless the buffer is full (or finished): false
    /// then, counted in `droppedCount`. Called by `AlertStore.apply(_:receivedAt:handOff:)`
    /// under the alert's shard lock, before the store changes, so a full
    /// buffer refuses the event instead of losing its transition (in durable
    /// mode the event stays unacknowledged and JetStream delivers it again).
    public func offer(_ transition: AlertTransition, acknowledgement: (any Acknowledgeable)?) -> Bool {
        let result: (accepted: Bool, wake: (CheckedContinuation<[AlertTransition], Never>, [AlertTransition])?) = state.withLock { state in
            guard !state.finished, state.items.count < capacity else {
                state.dropped += 1
                return (false, nil)
            }
            state.items.append(transition)
            state.acknowledgements.append(acknowledgement)
            guard let waiter = state.waiter else { return (true, nil) }
            state.waiter = nil
            return (true, (waiter, Self.takeItems(&state)))
        }
        if let (waiter, items) = result.wake { waiter.resume(returning: items) }
        return result.accepted
    }

    /// Items dropped because the buffer was full (for `offer`: events
    /// refused before they changed the store).
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Waits for and returns the next batch; an empty batch means the buffer
    /// was finished (or the waiting task cancelled) and nothing is left.
    public func nextBatch() async -> [AlertTransition] {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: [AlertTransition]? = state.withLock { state in
                    if !state.items.isEmpty || state.finished || state.pendingWake || Task.isCancelled {
                        state.pendingWake = false
                        return Self.takeItems(&state)
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
            return (waiter, Self.takeItems(&state))
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
            return (waiter, Self.takeItems(&state))
        }
        if let (waiter, items) = wake { waiter.resume(returning: items) }
    }

    /// Takes whatever is queued without waiting.
    public func drainNow() -> [AlertTransition] {
        state.withLock { state in Self.takeItems(&state) }
    }

    /// The acknowledgements of every item handed out so far: call after the
    /// items' effects are recorded, then acknowledge them.
    public func takeAcknowledgements() -> [any Acknowledgeable] {
        state.withLock { state in
            defer { state.handedOut = [] }
            return state.handedOut
        }
    }

    /// Puts acknowledgements back (recording failed; they go out with the next success).
    public func returnAcknowledgements(_ acknowledgements: [any Acknowledgeable]) {
        state.withLock { $0.handedOut.insert(contentsOf: acknowledgements, at: 0) }
    }

    private static func takeItems(_ state: inout State) -> [AlertTransition] {
        let items = state.items
        state.handedOut.append(contentsOf: state.acknowledgements.compactMap { $0 })
        state.items = []
        state.acknowledgements = []
        return items
    }
}

/// Something to acknowledge once an event's effect is recorded (a JetStream message).
public protocol Acknowledgeable: Sendable {
    func ack()
}
