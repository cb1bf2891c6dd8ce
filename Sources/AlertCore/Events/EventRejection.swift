/// Why an incoming event was refused. Each reason is a counter key now and
/// the `reason` label of `nats_alerter_events_rejected_total` once /metrics
/// exists, so the raw values are a stable contract.
public enum RejectReason: String, Sendable, CaseIterable, CustomStringConvertible {
    case payloadTooLarge = "payload_too_large"
    case emptyPayload = "empty_payload"
    case invalidProtobuf = "invalid_protobuf"
    case invalidJSON = "invalid_json"
    case unsupportedContentType = "unsupported_content_type"
    case unknownEnumValue = "unknown_enum_value"
    case invalidUTF8 = "invalid_utf8"
    case tooManyLabels = "too_many_labels"
    case invalidLabelName = "invalid_label_name"
    case labelTooLong = "label_too_long"
    case tooManyAnnotations = "too_many_annotations"
    case annotationTooLong = "annotation_too_long"
    case fieldTooLong = "field_too_long"
    /// A metric sample whose value is not a number (NaN).
    case invalidValue = "invalid_value"

    public var description: String { rawValue }
}

/// A refused event: the reason (for counting) and a message that names what
/// was wrong (for the log), e.g. `label "host": value is 4102 bytes, the limit is 1024`.
public struct EventRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: RejectReason
    public var detail: String

    public init(_ reason: RejectReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}
