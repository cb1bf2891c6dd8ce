public import AlertCore
public import Logging
public import struct Foundation.Date

/// The ingest handler of an event subscription: size check, decode (protobuf
/// or JSON by `Content-Type`), validation, and the alert store update — all
/// synchronously on the NATS delivery thread (docs/ARCHITECTURE.md, Threads).
///
/// Duplicates end here, counted. New alerts, resolves and refusals go to the
/// `AlertTransitionBuffer` for the service to act on. A bad message is
/// counted under its reason, logged without flooding, and dropped; nothing
/// a publisher sends stops the subscription.
public final class EventIngestor: NATSMessageHandler, JetStreamMessageHandler {
    public let store: AlertStore
    public let transitions: AlertTransitionBuffer
    public let counters: IngestCounters
    private let limits: EventLimits
    private let clock: any WallClock
    private let rejectionLog: RejectionLog

    /// Republishes a rejected event (durable mode): subject, payload, reason, detail.
    public typealias DeadLetter = @Sendable (_ subject: String, _ payload: [UInt8], _ rejection: EventRejection) -> Void
    private let deadLetter: DeadLetter?
    /// Event-stream rules that read events (event_count, absence); nil when none.
    private let rules: RuleEvaluator?
    /// Whether duplicates are absorbed from the wire bytes (`DuplicateFastPath`).
    /// Off when rules read events: they need every event decoded.
    public let duplicateFastPath: Bool

    /// - Parameter duplicateFastPath: absorb repeats of firing alerts from
    ///   the wire bytes (docs/ARCHITECTURE.md, Data flow, step 1); false
    ///   decodes every event (the equivalence tests compare the two).
    public init(
        store: AlertStore,
        transitions: AlertTransitionBuffer,
        counters: IngestCounters = IngestCounters(),
        limits: EventLimits = .default,
        clock: any WallClock = SystemWallClock(),
        logger: Logger,
        deadLetter: DeadLetter? = nil,
        rules: RuleEvaluator? = nil,
        duplicateFastPath: Bool = true
    ) {
        self.deadLetter = deadLetter
        self.rules = rules
        self.duplicateFastPath = duplicateFastPath && !(rules?.readsEvents ?? false)
        self.store = store
        self.transitions = transitions
        self.counters = counters
        self.limits = limits
        self.clock = clock
        self.rejectionLog = RejectionLog(logger: logger)
    }

    public func handle(_ message: borrowing NATSMessage) {
        let msg = message.msg
        process(subjectBytes: message.subjectBytes, subject: { MessageAccess.subject(msg) }, payload: message.payload,
                contentType: message.header("Content-Type"), acknowledgement: nil, onReject: nil)
    }

    /// Durable mode: the same, but the message is acknowledged only once its
    /// effect is recorded. A duplicate's effect is in memory: acked at once.
    /// A new alert or resolve is acked by the engine loop after the state
    /// store has it. A bad event is terminated (never redelivered; on the
    /// batched-ack event consumer that is an ack with the batch) and, if
    /// configured, republished to the dead-letter subject. With batched
    /// acks "acked" means done in the subscription's `AckTracker`
    /// (docs/ARCHITECTURE.md, Durability, step 2).
    public func handle(_ delivery: JetStreamDelivery) {
        process(subjectBytes: delivery.subjectBytes, subject: { delivery.subject }, payload: delivery.payload,
                contentType: delivery.header("Content-Type"), acknowledgement: delivery) { subject, rejection in
            delivery.term()
            self.deadLetter?(subject, [UInt8](delivery.payload), rejection)
        }
    }

    /// How `handle` took an event: absorbed from the wire bytes as a repeat
    /// of a firing alert (with its fingerprint), or decoded (whatever came of it).
    public enum Route: Sendable, Equatable {
        case wireDuplicate(Fingerprint)
        case decoded
    }

    /// One event from its parts, as `handle` takes a message (for tests and
    /// the fuzz harness); with an acknowledgement, as in durable mode.
    @discardableResult
    public func handle(payload: UnsafeRawBufferPointer, subject: String, contentType: String? = nil,
                       acknowledgement: (any Acknowledgeable)? = nil) -> Route {
        var utf8 = subject
        return utf8.withUTF8 { subjectBytes in
            process(subjectBytes: UnsafeRawBufferPointer(subjectBytes), subject: { subject }, payload: payload,
                    contentType: contentType, acknowledgement: acknowledgement, onReject: nil)
        }
    }

    /// The fingerprint the duplicate fast path would look up for this
    /// payload, or nil when it would leave the payload to the full path; no
    /// store involved. For the equivalence tests: whatever has one here
    /// must decode, validate and need no sanitizing at `receivedAt`, with
    /// that fingerprint.
    public static func wireFingerprint(payload: UnsafeRawBufferPointer, subject: String, limits: EventLimits,
                                       receivedAt: Date) -> Fingerprint? {
        var utf8 = subject
        return utf8.withUTF8 { subjectBytes in
            DuplicateFastPath.absorb(payload, subject: UnsafeRawBufferPointer(subjectBytes), limits: limits, store: nil, receivedAt: receivedAt)
        }
    }

    @discardableResult
    private func process(
        subjectBytes: UnsafeRawBufferPointer, subject: () -> String, payload: UnsafeRawBufferPointer, contentType: String?,
        acknowledgement: (any Acknowledgeable)?, onReject: ((String, EventRejection) -> Void)?
    ) -> Route {
        let sequence = counters.received.add(1, ordering: .relaxed).newValue
        // One event in 64 is timed, for the processing-time histogram.
        let start: ContinuousClock.Instant? = sequence & 63 == 0 ? .now : nil
        defer {
            if let start { counters.sampleProcessing(seconds: Self.seconds(start.duration(to: .now))) }
        }
        if duplicateFastPath, contentType == nil || (try? PayloadFormat(contentType: contentType)) == .protobuf,
           let fingerprint = DuplicateFastPath.absorb(payload, subject: subjectBytes, limits: limits, store: store, receivedAt: clock.now()) {
            // What the full path counts for a duplicate (`apply`).
            counters.decoded.add(1, ordering: .relaxed)
            counters.duplicates.add(1, ordering: .relaxed)
            counters.wireDuplicates.add(1, ordering: .relaxed)
            acknowledgement?.ack()
            return .wireDuplicate(fingerprint)
        }
        let subject = subject()
        do throws(EventRejection) {
            var event = try decode(payload, contentType: contentType, subject: subject)
            try event.validate(limits)
            counters.decoded.add(1, ordering: .relaxed)
            let now = clock.now()
            let adjusted = event.sanitize(receivedAt: now, limits: limits)
            if !adjusted.isEmpty {
                counters.recordAdjustments(adjusted)
                rejectionLog.recordAdjustment(adjusted, subject: subject, event: event)
            }
            apply(event, receivedAt: now, acknowledgement: acknowledgement)
            if let rules {
                // A rule alert derived from events carries no acknowledgement:
                // the event's own is handled by `apply`.
                for transition in rules.observe(event, at: now) { transitions.append(transition) }
            }
        } catch {
            counters.reject(error.reason)
            rejectionLog.record(error, subject: subject)
            onReject?(subject, error)
        }
        return .decoded
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Decodes one payload by its content type.
    func decode(_ payload: UnsafeRawBufferPointer, contentType: String?, subject: String) throws(EventRejection) -> AlertEvent {
        if payload.count > limits.maxPayloadBytes {
            throw EventRejection(.payloadTooLarge, "payload is \(payload.count) bytes, the limit is \(limits.maxPayloadBytes)")
        }
        switch try PayloadFormat(contentType: contentType) {
        case .protobuf:
            return try ProtobufEventDecoder.decode(payload, subject: subject)
        case .json:
            return try JSONEventDecoder.decode(payload, subject: subject)
        }
    }

    /// Applies a decoded, valid, sanitized event to the store. With an
    /// acknowledgement, it is acked now when nothing durable changed, else
    /// handed on with the transition. The store update and the hand-off are
    /// one step (`AlertStore.apply(_:receivedAt:handOff:)` under the alert's shard lock); when the hand-off
    /// buffer is full the event is not applied at all and, unacknowledged,
    /// comes again.
    public func apply(_ event: AlertEvent, receivedAt: Date? = nil, acknowledgement: (any Acknowledgeable)? = nil) {
        let receivedAt = receivedAt ?? clock.now()
        let transitions = self.transitions
        guard let transition = store.apply(event, receivedAt: receivedAt, handOff: { transitions.offer($0, acknowledgement: acknowledgement) }) else {
            return
        }
        switch transition {
        case .duplicate:
            counters.duplicates.add(1, ordering: .relaxed)
            acknowledgement?.ack()
        case .fired:
            counters.fired.add(1, ordering: .relaxed)
        case .resolved:
            counters.resolved.add(1, ordering: .relaxed)
        case .resolveOfUnknown:
            counters.resolvesOfUnknown.add(1, ordering: .relaxed)
            acknowledgement?.ack()
        case .refusedAtCapacity:
            counters.refusedAtCapacity.add(1, ordering: .relaxed)
        case .staleFiring:
            counters.staleFirings.add(1, ordering: .relaxed)
            acknowledgement?.ack()
        }
    }
}

/// The encodings an event payload may use, chosen by the `Content-Type` header.
enum PayloadFormat {
    case protobuf
    case json

    /// No header means protobuf (the default); parameters such as
    /// `; charset=utf-8` are ignored.
    init(contentType: String?) throws(EventRejection) {
        guard let contentType else {
            self = .protobuf
            return
        }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        switch mediaType {
        case "application/json":
            self = .json
        case "", "application/protobuf", "application/x-protobuf", "application/octet-stream", "application/vnd.google.protobuf":
            self = .protobuf
        default:
            throw EventRejection(.unsupportedContentType, "Content-Type \"\(String(contentType.prefix(100)))\" is neither application/json nor application/protobuf")
        }
    }
}
