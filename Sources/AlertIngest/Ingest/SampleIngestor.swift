public import AlertCore
public import Logging

/// The ingest handler of a metric-sample subscription: size check, decode
/// (protobuf or JSON by `Content-Type`), validation, and rule evaluation —
/// synchronously on the NATS delivery thread, like `EventIngestor`.
///
/// Most samples change nothing but a window. Alerts the rules raise or
/// resolve go to the `AlertTransitionBuffer` with event alerts. A bad sample
/// is counted under its reason (the same `events_rejected_total` reasons as
/// events), logged without flooding, and dropped.
public final class SampleIngestor: NATSMessageHandler {
    public let rules: RuleEvaluator
    public let transitions: AlertTransitionBuffer
    public let counters: IngestCounters
    private let limits: EventLimits
    private let clock: any WallClock
    private let rejectionLog: RejectionLog

    public init(rules: RuleEvaluator, transitions: AlertTransitionBuffer, counters: IngestCounters = IngestCounters(),
                limits: EventLimits = .default, clock: any WallClock = SystemWallClock(), logger: Logger) {
        self.rules = rules
        self.transitions = transitions
        self.counters = counters
        self.limits = limits
        self.clock = clock
        self.rejectionLog = RejectionLog(logger: logger)
    }

    public func handle(_ message: borrowing NATSMessage) {
        process(subject: message.subject, payload: message.payload, contentType: message.header("Content-Type"))
    }

    /// Handles one payload as it arrived on `subject` (also the benchmark's entry point).
    public func process(subject: String, payload: UnsafeRawBufferPointer, contentType: String?) {
        let sequence = counters.received.add(1, ordering: .relaxed).newValue
        let start: ContinuousClock.Instant? = sequence & 63 == 0 ? .now : nil
        defer {
            if let start { counters.sampleProcessing(seconds: EventIngestor.seconds(start.duration(to: .now))) }
        }
        do throws(EventRejection) {
            if payload.count > limits.maxPayloadBytes {
                throw EventRejection(.payloadTooLarge, "payload is \(payload.count) bytes, the limit is \(limits.maxPayloadBytes)")
            }
            let sample: MetricSample
            switch try PayloadFormat(contentType: contentType) {
            case .protobuf: sample = try ProtobufSampleDecoder.decode(payload, subject: subject)
            case .json: sample = try JSONSampleDecoder.decode(payload, subject: subject)
            }
            try sample.validate(limits)
            counters.decoded.add(1, ordering: .relaxed)
            for transition in rules.observe(sample, at: clock.now()) {
                switch transition {
                case .fired: counters.fired.add(1, ordering: .relaxed)
                case .resolved: counters.resolved.add(1, ordering: .relaxed)
                case .refusedAtCapacity: counters.refusedAtCapacity.add(1, ordering: .relaxed)
                default: break
                }
                transitions.append(transition)
            }
        } catch {
            counters.reject(error.reason)
            rejectionLog.record(error, subject: subject)
        }
    }
}
