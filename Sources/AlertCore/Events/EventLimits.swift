/// Caps on what one event may carry, so nothing a publisher sends can grow
/// memory without bound (DESIGN.md §6). Config: `nats.limits`.
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

    public init(
        maxPayloadBytes: Int = 64 * 1024,
        maxLabels: Int = 32,
        maxLabelNameBytes: Int = 128,
        maxLabelValueBytes: Int = 1024,
        maxAnnotations: Int = 32,
        maxAnnotationValueBytes: Int = 16 * 1024
    ) {
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
