public import AlertCore
import Synchronization

/// Carries the rare results of ingest (new alerts, resolves, refusals) from
/// the NATS delivery threads into Swift concurrency, in batches.
///
/// Producers (`append`, `offer`) run on libnats threads and never block
/// beyond a short lock. One consumer, the engine loop, awaits `nextBatch()`,
/// which returns everything queued since its last call — so a burst of a
/// thousand new alerts costs one wake-up, not a thousand
/// (docs/ARCHITECTURE.md, Threads). Each batch carries the acknowledgements
/// of its events: from then on they belong to the consumer, which acks them
/// once their effect is recorded. Bounded: past `capacity` queued items
/// newer items are dropped and counted, so a stalled consumer cannot grow
/// memory without bound.
public final class AlertTransitionBuffer: Sendable {
    private struct State {
        var items: [AlertTransition] = []
        /// The acknowledgements of queued items (durable mode).
        var acknowledgements: [any Acknowledgeable] = []
        var waiter: CheckedContinuation<TransitionBatch, Never>?
        var finished = false
        var dropped = 0

        /// Queues an item; the waiter to resume, if one waits.
        mutating func add(_ transition: AlertTransition, _ acknowledgement: (any Acknowledgeable)?)
            -> (CheckedContinuation<TransitionBatch, Never>, TransitionBatch)? {
            items.append(transition)
            if let acknowledgement { acknowledgements.append(acknowledgement) }
            guard let waiter else { return nil }
            self.waiter = nil
            return (waiter, take())
        }

        mutating func take() -> TransitionBatch {
            defer { items = []; acknowledgements = [] }
            return TransitionBatch(transitions: items, acknowledgements: acknowledgements, finished: finished)
        }
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 1_000_000) {
        self.capacity = capacity
    }

    public func append(_ transition: AlertTransition, acknowledgement: (any Acknowledgeable)? = nil) {
        _ = offer(transition, acknowledgement: acknowledgement)
    }

    /// Queues a transition unless the buffer is full (or finished): false
    /// then, counted in `droppedCount`. Called by `AlertStore.apply(_:receivedAt:handOff:)`
    /// under the alert's shard lock, before the store changes, so a full
    /// buffer refuses the event instead of losing its transition (in durable
    /// mode the event stays unacknowledged and JetStream delivers it again).
    public func offer(_ transition: AlertTransition, acknowledgement: (any Acknowledgeable)?) -> Bool {
        let result: (accepted: Bool, wake: (CheckedContinuation<TransitionBatch, Never>, TransitionBatch)?) = state.withLock { state in
            guard !state.finished, state.items.count < capacity else {
                state.dropped += 1
                return (false, nil)
            }
            return (true, state.add(transition, acknowledgement))
        }
        if let (waiter, batch) = result.wake { waiter.resume(returning: batch) }
        return result.accepted
    }

    /// Items dropped because the buffer was full (for `offer`: events
    /// refused before they changed the store).
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Waits for and returns the next batch. An empty batch means the buffer
    /// was finished (`finished` is then true) or the waiting task cancelled.
    public func nextBatch() async -> TransitionBatch {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: TransitionBatch? = state.withLock { state in
                    if !state.items.isEmpty || state.finished || Task.isCancelled { return state.take() }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: TransitionBatch())
        }
    }

    /// No more items will come (ingest stopped for good); wakes the
    /// consumer, which gets what is left.
    public func finish() {
        let wake: (CheckedContinuation<TransitionBatch, Never>, TransitionBatch)? = state.withLock { state in
            state.finished = true
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.take())
        }
        if let (waiter, batch) = wake { waiter.resume(returning: batch) }
    }

    /// Takes whatever is queued without waiting.
    public func drainNow() -> TransitionBatch {
        state.withLock { $0.take() }
    }
}

/// What the engine loop takes from the buffer at once: transitions in
/// arrival order, and the acknowledgements of the events behind them.
public struct TransitionBatch: RandomAccessCollection, Sendable {
    public var transitions: [AlertTransition]
    public var acknowledgements: [any Acknowledgeable]
    /// The buffer was finished: nothing more will come.
    public var finished: Bool

    public init(transitions: [AlertTransition] = [], acknowledgements: [any Acknowledgeable] = [], finished: Bool = false) {
        self.transitions = transitions
        self.acknowledgements = acknowledgements
        self.finished = finished
    }

    public var startIndex: Int { transitions.startIndex }
    public var endIndex: Int { transitions.endIndex }
    public subscript(position: Int) -> AlertTransition { transitions[position] }
}

/// Something to acknowledge once an event's effect is recorded (a JetStream message).
public protocol Acknowledgeable: Sendable {
    func ack()
}
