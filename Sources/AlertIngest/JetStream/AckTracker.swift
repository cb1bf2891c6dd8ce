import Dispatch
import Synchronization

/// The bookkeeping of batched acknowledgement on an AckAll consumer
/// (docs/ARCHITECTURE.md, Durability, step 2), without clocks or I/O, so
/// it can be tested on its own.
///
/// On an AckAll consumer one `+ACK` acknowledges its message and every
/// lower stream sequence, so the ledger acks only the highest stream
/// sequence below which nothing received is outstanding:
///
/// - `register` when a delivery arrives (a redelivery of a sequence
///   already known counts as one more outstanding delivery of it);
/// - `done` when a delivery's effect is recorded;
/// - `abandon` when a delivery ends without its effect recorded (refused,
///   or dropped unacknowledged): its sequence stays unfinished and blocks
///   the floor until a later delivery of it is done;
/// - `nextAck` picks the message to ack, if any.
///
/// A sequence is finished when some delivery of it is done and no delivery
/// of it is outstanding. A gap in the delivery sequence (libnats dropped a
/// message as a slow consumer: it is pending on the server, unknown here)
/// freezes acking until the server has redelivered it (`freeze`).
public struct AckLedger: Sendable {
    struct Entry {
        var sequence: UInt64
        var outstanding: Int32
        var done: Bool
        /// The newest delivery's consumer sequence and reply subject.
        var deliverySequence: UInt64
        var reply: String
    }

    /// Sorted by stream sequence from `head` on; entries before `head` are gone.
    private var entries: [Entry] = []
    private var head = 0
    /// The stream sequence acked last (everything at or below it is acked).
    public private(set) var floor: UInt64 = 0
    /// The consumer sequence of the message acked last: the server ignores
    /// an AckAll ack whose consumer sequence is not above it.
    public private(set) var ackedDeliverySequence: UInt64 = 0
    /// The highest consumer sequence received, to notice gaps.
    public private(set) var highestDeliverySequence: UInt64?
    /// Finished entries not acked yet.
    public private(set) var finishedSinceAck = 0

    /// - Parameter deliveredBefore: the consumer sequence the consumer had
    ///   delivered before this subscription (0 for a new consumer).
    public init(deliveredBefore: UInt64 = 0) {
        highestDeliverySequence = deliveredBefore
    }

    /// Sequences known and not acked yet.
    public var count: Int { entries.count - head }

    /// A delivery arrived. Returns false when its consumer sequence skips
    /// one or more (a delivery never seen: the caller freezes acking).
    @discardableResult
    public mutating func register(sequence: UInt64, deliverySequence: UInt64, reply: String) -> Bool {
        var contiguous = true
        if let highest = highestDeliverySequence {
            if deliverySequence > highest + 1 { contiguous = false }
            if deliverySequence > highest { highestDeliverySequence = deliverySequence }
        } else {
            highestDeliverySequence = deliverySequence
        }
        // Already acked (a redelivery that crossed our ack): nothing to track.
        guard sequence > floor else { return contiguous }
        let index = position(of: sequence)
        if index < entries.count, entries[index].sequence == sequence {
            entries[index].outstanding += 1
            if entries[index].done, entries[index].outstanding == 1 { finishedSinceAck -= 1 }
            if deliverySequence > entries[index].deliverySequence {
                entries[index].deliverySequence = deliverySequence
                entries[index].reply = reply
            }
        } else {
            let entry = Entry(sequence: sequence, outstanding: 1, done: false, deliverySequence: deliverySequence, reply: reply)
            if index == entries.count { entries.append(entry) } else { entries.insert(entry, at: index) }
        }
        return contiguous
    }

    /// A delivery of `sequence` has its effect recorded.
    public mutating func done(sequence: UInt64) { complete(sequence, done: true) }

    /// A delivery of `sequence` ended without its effect recorded.
    public mutating func abandon(sequence: UInt64) { complete(sequence, done: false) }

    private mutating func complete(_ sequence: UInt64, done: Bool) {
        guard sequence > floor else { return }
        let index = position(of: sequence)
        guard index < entries.count, entries[index].sequence == sequence, entries[index].outstanding > 0 else { return }
        entries[index].outstanding -= 1
        if done { entries[index].done = true }
        if entries[index].outstanding == 0 && entries[index].done { finishedSinceAck += 1 }
    }

    /// The message to ack now: the highest finished stream sequence with
    /// nothing unfinished below it whose consumer sequence the server still
    /// takes (above the last acked one). Its entry and every lower one are
    /// dropped; nil when there is nothing to ack.
    public mutating func nextAck() -> (sequence: UInt64, reply: String)? {
        var index = head
        var chosen: Int?
        while index < entries.count, entries[index].outstanding == 0, entries[index].done {
            if entries[index].deliverySequence > ackedDeliverySequence { chosen = index }
            index += 1
        }
        guard let chosen else { return nil }
        let entry = entries[chosen]
        finishedSinceAck -= chosen - head + 1
        head = chosen + 1
        floor = entry.sequence
        ackedDeliverySequence = entry.deliverySequence
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return (entry.sequence, entry.reply)
    }

    /// First index at or after `head` whose sequence is not below `sequence`.
    private func position(of sequence: UInt64) -> Int {
        // Deliveries come in order; a redelivery is the rare lookup.
        if let last = entries.last, last.sequence < sequence || head == entries.count { return entries.count }
        var low = head, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// Batched acknowledgement of one AckAll subscription (docs/ARCHITECTURE.md,
/// Durability, step 2): deliveries are registered as they arrive and marked
/// done when their effect is recorded; every `interval`, or as soon as
/// `batch` are finished, one `+ACK` goes to the message at the top of the
/// contiguous finished run, acknowledging everything at or below it.
public final class AckTracker: Sendable {
    private struct State {
        var ledger = AckLedger()
        var flushScheduled = false
        var frozenUntil: ContinuousClock.Instant?
        var closed = false
    }

    private let state: Mutex<State>
    private let interval: Duration
    private let batch: Int
    private let freezeFor: Duration
    private let send: @Sendable (String) -> Void
    /// The gate in a class. Kept as a bare closure in the `Mutex` and read
    /// with `withLock { $0 }` on each flush, it came back wrapped in two more
    /// reabstraction thunks every time: the chain grew per flush, its cost
    /// with it (4 % of the JetStream scenario in perf, 0.72× against 1.03×
    /// without), until calling it overflowed the stack and the process died
    /// (`AckTrackerTests`, 200,000 flushes). A reference is read as it is.
    private final class Gate: Sendable {
        let isOpen: @Sendable () -> Bool
        init(_ isOpen: @escaping @Sendable () -> Bool) { self.isOpen = isOpen }
    }
    private let gate = Mutex<Gate?>(nil)
    private let onGap: @Sendable () -> Void
    /// The consumer's `max_deliver` (0: unlimited). A delivery abandoned at
    /// that count is never delivered again, so it must not block the floor.
    let maxDeliver: UInt64

    /// - Parameters:
    ///   - ackWait: the consumer's; a gap freezes acking for twice that, by
    ///     when the server has redelivered what was lost.
    ///   - send: publishes `+ACK` to a reply subject.
    ///   - onGap: told when a gap froze acking (for the log).
    ///   - deliveredBefore: what the consumer had delivered before (0 for a new one).
    ///   - maxDeliver: the consumer's `max_deliver` (0: unlimited).
    public init(ackWait: Duration, interval: Duration = .milliseconds(5), batch: Int = 512, deliveredBefore: UInt64 = 0, maxDeliver: Int = 0,
                send: @escaping @Sendable (String) -> Void, onGap: @escaping @Sendable () -> Void = {}) {
        self.maxDeliver = UInt64(max(0, maxDeliver))
        state = Mutex(State(ledger: AckLedger(deliveredBefore: deliveredBefore)))
        self.interval = interval
        self.batch = batch
        self.freezeFor = ackWait * 2
        self.send = send
        self.onGap = onGap
    }

    /// Acks are sent only while this says yes (high availability: while
    /// this instance owns the partition); otherwise they wait.
    public func setGate(_ gate: @escaping @Sendable () -> Bool) {
        let box = Gate(gate)
        self.gate.withLock { $0 = box }
    }

    /// Acks sent so far, and the stream sequence acked last (for tests).
    public var floor: UInt64 { state.withLock { $0.ledger.floor } }
    public var tracked: Int { state.withLock { $0.ledger.count } }

    func register(sequence: UInt64, deliverySequence: UInt64, reply: String) {
        let contiguous = state.withLock { state in
            let contiguous = state.ledger.register(sequence: sequence, deliverySequence: deliverySequence, reply: reply)
            if !contiguous { state.frozenUntil = .now + freezeFor }
            return contiguous
        }
        if !contiguous { onGap() }
    }

    /// A delivery whose consumer sequence could not be read: what it
    /// covers is unknown, so acking freezes as for a gap.
    func unreadable() {
        state.withLock { $0.frozenUntil = .now + freezeFor }
        onGap()
    }

    func done(sequence: UInt64) {
        let (flushNow, schedule) = state.withLock { state -> (Bool, Bool) in
            state.ledger.done(sequence: sequence)
            if state.closed { return (false, false) }
            if state.ledger.finishedSinceAck >= batch { return (true, false) }
            guard !state.flushScheduled else { return (false, false) }
            state.flushScheduled = true
            return (false, true)
        }
        if flushNow { flush() } else if schedule { scheduleFlush(after: interval) }
    }

    /// A delivery ended without its effect recorded (refused at capacity,
    /// or nak'd). The server delivers it again, unless this was its last
    /// delivery (`max_deliver`): then the server has given the event up, and
    /// so does the ledger — it counts as finished, as it was lost before
    /// batched acks, instead of holding the floor (and, at
    /// `max_ack_pending`, the whole consumer) until a restart.
    func abandon(sequence: UInt64, deliveryCount: @autoclosure () -> UInt64) {
        if maxDeliver > 0, deliveryCount() >= maxDeliver {
            done(sequence: sequence)
        } else {
            state.withLock { $0.ledger.abandon(sequence: sequence) }
        }
    }

    private func scheduleFlush(after delay: Duration) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(delay.nanoseconds))) { [self] in
            state.withLock { $0.flushScheduled = false }
            flush()
        }
    }

    /// Sends the ack due now, if any.
    public func flush() {
        let allowed = gate.withLock { $0 }?.isOpen() ?? true
        let (reply, retry): (String?, Duration?) = state.withLock { state in
            if state.closed { return (nil, nil) }
            if let until = state.frozenUntil {
                let now = ContinuousClock.now
                if now < until {
                    if state.flushScheduled { return (nil, nil) }
                    state.flushScheduled = true
                    return (nil, until - now + .milliseconds(1))
                }
                state.frozenUntil = nil
            }
            // Not the owner (a suspended or stepping-down HA instance): keep
            // everything; a later flush sends it if ownership is confirmed.
            guard allowed else {
                if state.ledger.finishedSinceAck > 0, !state.flushScheduled {
                    state.flushScheduled = true
                    return (nil, .milliseconds(100))
                }
                return (nil, nil)
            }
            return (state.ledger.nextAck()?.reply, nil)
        }
        if let reply { send(reply) }
        if let retry { scheduleFlush(after: retry) }
    }

    /// The last flush (shutdown): acks what is finished, then sends nothing more.
    public func close() {
        flush()
        state.withLock { $0.closed = true }
    }
}
