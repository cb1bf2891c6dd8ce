/// One decoded `alerting.v1.MetricSample`: a measurement the event-stream
/// rules evaluate (memory percent, population diversity, 1/0 for a
/// strategy's success, a heartbeat), plus the subject it arrived on.
///
/// A plain value built on the ingest thread and handed to `RuleEvaluator`.
public struct MetricSample: Sendable, Equatable {
    /// What was measured; empty = the subject stands in.
    public var name: String
    public var value: Double
    /// Identity of the series; rules' `group_by` selects from these.
    public var labels: [String: String]
    public var iteration: Int64?
    /// Milliseconds since the Unix epoch; 0 = when received.
    public var occurredAtUnixMs: Int64
    public var source: String
    /// The NATS subject it arrived on.
    public var subject: String

    public init(name: String = "", value: Double = 0, labels: [String: String] = [:], iteration: Int64? = nil,
                occurredAtUnixMs: Int64 = 0, source: String = "", subject: String = "") {
        self.name = name
        self.value = value
        self.labels = labels
        self.iteration = iteration
        self.occurredAtUnixMs = occurredAtUnixMs
        self.source = source
        self.subject = subject
    }

    /// The same caps and label rules as events (`nats.limits`), plus a value
    /// that must be a number: NaN compares false with every threshold and
    /// would silently poison a window.
    public func validate(_ limits: EventLimits) throws(EventRejection) {
        // Not finite: an infinity would poison a rule's window for its whole
        // length (every average, sum and rate over it becomes infinite or NaN).
        if !value.isFinite {
            throw EventRejection(.invalidValue, "value is \(value), a sample's value must be a finite number")
        }
        if labels.count > limits.maxLabels {
            throw EventRejection(.tooManyLabels, "\(labels.count) labels, the limit is \(limits.maxLabels)")
        }
        for (name, value) in labels {
            if name.utf8.count > limits.maxLabelNameBytes {
                throw EventRejection(.labelTooLong, "label name \(AlertEvent.quotedPrefix(name)) is \(name.utf8.count) bytes, the limit is \(limits.maxLabelNameBytes)")
            }
            if !AlertEvent.isValidLabelName(name) {
                throw EventRejection(.invalidLabelName, "label name \(AlertEvent.quotedPrefix(name)) must match [a-zA-Z_][a-zA-Z0-9_]* and not start with \"__\"")
            }
            if value.utf8.count > limits.maxLabelValueBytes {
                throw EventRejection(.labelTooLong, "label \"\(name)\": value is \(value.utf8.count) bytes, the limit is \(limits.maxLabelValueBytes)")
            }
        }
        // Two checks written out: a literal array of pairs would allocate on every sample.
        if name.utf8.count > limits.maxLabelValueBytes {
            throw EventRejection(.fieldTooLong, "name is \(name.utf8.count) bytes, the limit is \(limits.maxLabelValueBytes)")
        }
        if source.utf8.count > limits.maxLabelValueBytes {
            throw EventRejection(.fieldTooLong, "source is \(source.utf8.count) bytes, the limit is \(limits.maxLabelValueBytes)")
        }
    }
}
