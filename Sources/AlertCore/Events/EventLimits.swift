public import struct Foundation.Date

/// Caps on what one event may carry, so nothing a publisher sends can grow
/// memory without bound (docs/ARCHITECTURE.md, Bad input). Config: `nats.limits`.
public struct EventLimits: Sendable, Equatable {
    /// Largest accepted payload, in bytes (checked before decoding).
    public var maxPayloadBytes: Int
    /// Most labels an event may carry in `labels` (the derived ones do not count).
    public var maxLabels: Int
    /// Longest label name, in bytes.
    public var maxLabelNameBytes: Int
    /// Longest label value, in bytes.
    public var maxLabelValueBytes: Int
    /// Most annotations an event may carry in `annotations`.
    public var maxAnnotations: Int
    /// Longest annotation value (also `summary` and `description`), in bytes.
    public var maxAnnotationValueBytes: Int
    /// How far past the receive time an event's `occurred_at_unix_ms` may lie.
    /// A later time (a publisher's clock running ahead, or garbage) is
    /// replaced by the receive time, so retention and `endsAt` never rest on
    /// a publisher's clock. Config: `nats.limits.max_clock_skew`.
    public var maxClockSkew: Duration

    public init(
        maxPayloadBytes: Int = 64 * 1024,
        maxLabels: Int = 32,
        maxLabelNameBytes: Int = 128,
        maxLabelValueBytes: Int = 1024,
        maxAnnotations: Int = 32,
        maxAnnotationValueBytes: Int = 16 * 1024,
        maxClockSkew: Duration = .seconds(300)
    ) {
        self.maxClockSkew = maxClockSkew
        self.maxPayloadBytes = maxPayloadBytes
        self.maxLabels = maxLabels
        self.maxLabelNameBytes = maxLabelNameBytes
        self.maxLabelValueBytes = maxLabelValueBytes
        self.maxAnnotations = maxAnnotations
        self.maxAnnotationValueBytes = maxAnnotationValueBytes
    }

    public static let `default` = EventLimits()
}

extension AlertEvent {
    /// Checks a decoded event against the limits and Alertmanager's label rules.
    /// Throws the first problem found, naming the offending label or field.
    public func validate(_ limits: EventLimits) throws(EventRejection) {
        if labels.count > limits.maxLabels {
            throw EventRejection(.tooManyLabels, "\(labels.count) labels, the limit is \(limits.maxLabels)")
        }
        for (name, value) in labels {
            if name.utf8.count > limits.maxLabelNameBytes {
                throw EventRejection(.labelTooLong, "label name \(Self.quotedPrefix(name)) is \(name.utf8.count) bytes, the limit is \(limits.maxLabelNameBytes)")
            }
            if !Self.isValidLabelName(name) {
                throw EventRejection(.invalidLabelName, "label name \(Self.quotedPrefix(name)) must match [a-zA-Z_][a-zA-Z0-9_]* and not start with \"__\"")
            }
            if value.utf8.count > limits.maxLabelValueBytes {
                throw EventRejection(.labelTooLong, "label \"\(name)\": value is \(value.utf8.count) bytes, the limit is \(limits.maxLabelValueBytes)")
            }
        }
        if annotations.count > limits.maxAnnotations {
            throw EventRejection(.tooManyAnnotations, "\(annotations.count) annotations, the limit is \(limits.maxAnnotations)")
        }
        for (name, value) in annotations {
            if name.utf8.count > limits.maxLabelNameBytes {
                throw EventRejection(.annotationTooLong, "annotation name \(Self.quotedPrefix(name)) is \(name.utf8.count) bytes, the limit is \(limits.maxLabelNameBytes)")
            }
            if value.utf8.count > limits.maxAnnotationValueBytes {
                throw EventRejection(.annotationTooLong, "annotation \"\(name)\": value is \(value.utf8.count) bytes, the limit is \(limits.maxAnnotationValueBytes)")
            }
        }
        for (field, value) in [("summary", summary), ("description", description)] where value.utf8.count > limits.maxAnnotationValueBytes {
            throw EventRejection(.annotationTooLong, "\(field) is \(value.utf8.count) bytes, the limit is \(limits.maxAnnotationValueBytes)")
        }
        for (field, value) in [("alert_type", alertType), ("source", source), ("dedup_key", dedupKey)] where value.utf8.count > limits.maxLabelValueBytes {
            throw EventRejection(.fieldTooLong, "\(field) is \(value.utf8.count) bytes, the limit is \(limits.maxLabelValueBytes)")
        }
        for (field, value) in [("event_id", eventID), ("generator_url", generatorURL)] where value.utf8.count > limits.maxAnnotationValueBytes {
            throw EventRejection(.fieldTooLong, "\(field) is \(value.utf8.count) bytes, the limit is \(limits.maxAnnotationValueBytes)")
        }
    }

    /// Brings the values a publisher controls into range, in place: an
    /// `occurred_at_unix_ms` before 1970 or more than `maxClockSkew` past
    /// `receivedAt` becomes 0 (= the receive time), and a NaN or infinite
    /// `current_value`/`threshold_value` is carried as absent (an alert about
    /// a diverged run must still fire; its NaN value cannot be forwarded as
    /// JSON). Returns what was replaced, for the metrics; empty for a sane event.
    public mutating func sanitize(receivedAt: Date, limits: EventLimits) -> EventAdjustments {
        var adjusted: EventAdjustments = []
        if occurredAtUnixMs != 0 {
            let received = receivedAt.timeIntervalSince1970 * 1000
            let latest = received + limits.maxClockSkew.seconds * 1000
            if occurredAtUnixMs < 0 || Double(occurredAtUnixMs) > latest {
                occurredAtUnixMs = 0
                adjusted.insert(.occurredAt)
            }
        }
        if let value = currentValue, !value.isFinite {
            currentValue = nil
            adjusted.insert(.currentValue)
        }
        if let value = thresholdValue, !value.isFinite {
            thresholdValue = nil
            adjusted.insert(.thresholdValue)
        }
        return adjusted
    }

    /// Prometheus' label-name rule; names beginning with `__` are reserved.
    public static func isValidLabelName(_ name: String) -> Bool {
        var bytes = name.utf8.makeIterator()
        guard let first = bytes.next(), isLetter(first) || first == UInt8(ascii: "_") else { return false }
        if name.utf8.starts(with: "__".utf8) { return false }
        while let byte = bytes.next() {
            guard isLetter(byte) || byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                return false
            }
        }
        return true
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// A name quoted for an error message, cut so a hostile name cannot flood the log.
    static func quotedPrefix(_ name: String) -> String {
        let cut = name.utf8.count > 64 ? String(decoding: name.utf8.prefix(64), as: UTF8.self) + "…" : name
        return "\"" + cut.replacingNewlines() + "\""
    }
}

extension String {
    func replacingNewlines() -> String {
        var result = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\"": result += "\\\""
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

/// The fields `AlertEvent.sanitize` replaced in one event.
public struct EventAdjustments: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `occurred_at_unix_ms` was before 1970 or too far in the future: the receive time is used.
    public static let occurredAt = EventAdjustments(rawValue: 1)
    /// `current_value` was NaN or infinite: carried as absent.
    public static let currentValue = EventAdjustments(rawValue: 2)
    /// `threshold_value` was NaN or infinite: carried as absent.
    public static let thresholdValue = EventAdjustments(rawValue: 4)

    /// The field names, as the metric's `field` label carries them.
    public static let fields: [(EventAdjustments, String)] = [
        (.occurredAt, "occurred_at_unix_ms"), (.currentValue, "current_value"), (.thresholdValue, "threshold_value"),
    ]
}
