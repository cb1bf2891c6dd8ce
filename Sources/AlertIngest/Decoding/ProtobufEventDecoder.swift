public import AlertCore
import CAlertProto
import CProtobufC

/// Decodes the protobuf binary form of `alerting.v1.AlertEvent` with protobuf-c.
///
/// Unpacks straight from the caller's buffer (the NATS message's own memory:
/// no intermediate copy), converts to the Swift value, and frees the C message
/// with the same (default) allocator it was unpacked with before returning.
public enum ProtobufEventDecoder {
    /// - Parameters:
    ///   - bytes: the payload; only read during the call.
    ///   - subject: the NATS subject it arrived on.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        subject: String
    ) throws(EventRejection) -> AlertEvent {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            // An empty payload is a valid (all-default) protobuf message, but an
            // event that says nothing is a publisher bug worth naming.
            throw EventRejection(.emptyPayload, "payload is empty")
        }
        guard let message = alerting__v1__alert_event__unpack(nil, bytes.count, base) else {
            throw EventRejection(.invalidProtobuf, "not a valid alerting.v1.AlertEvent (\(bytes.count) bytes): truncated, malformed or wrong wire types")
        }
        defer { alerting__v1__alert_event__free_unpacked(message, nil) }
        return try convert(message.pointee, subject: subject)
    }

    private static func convert(_ m: Alerting__V1__AlertEvent, subject: String) throws(EventRejection) -> AlertEvent {
        guard let severity = Severity(rawValue: Int32(bitPattern: m.severity.rawValue)) else {
            throw EventRejection(.unknownEnumValue, "severity \(Int32(bitPattern: m.severity.rawValue)) is not a known alerting.v1.Severity")
        }
        guard let status = EventStatus(rawValue: Int32(bitPattern: m.status.rawValue)) else {
            throw EventRejection(.unknownEnumValue, "status \(Int32(bitPattern: m.status.rawValue)) is not a known alerting.v1.Status")
        }
        var event = AlertEvent(severity: severity, status: status, subject: subject)
        event.alertType = try string(m.alert_type, "alert_type")
        event.source = try string(m.source, "source")
        event.summary = try string(m.summary, "summary")
        event.description = try string(m.description, "description")
        event.dedupKey = try string(m.dedup_key, "dedup_key")
        event.eventID = try string(m.event_id, "event_id")
        event.generatorURL = try string(m.generator_url, "generator_url")
        event.occurredAtUnixMs = m.occurred_at_unix_ms
        if m.current_value_presence_case == ALERTING__V1__ALERT_EVENT__CURRENT_VALUE_PRESENCE_CURRENT_VALUE {
            event.currentValue = m.current_value
        }
        if m.threshold_value_presence_case == ALERTING__V1__ALERT_EVENT__THRESHOLD_VALUE_PRESENCE_THRESHOLD_VALUE {
            event.thresholdValue = m.threshold_value
        }
        if m.iteration_presence_case == ALERTING__V1__ALERT_EVENT__ITERATION_PRESENCE_ITERATION {
            event.iteration = m.iteration
        }
        if m.n_labels > 0, let entries = m.labels {
            var labels: [String: String] = [:]
            labels.reserveCapacity(m.n_labels)
            for index in 0..<m.n_labels {
                guard let entry = entries[index]?.pointee else { continue }
                let key = try string(entry.key, "labels key")
                labels[key] = try string(entry.value, "label \"\(key)\" value")
            }
            event.labels = labels
        }
        if m.n_annotations > 0, let entries = m.annotations {
            var annotations: [String: String] = [:]
            annotations.reserveCapacity(m.n_annotations)
            for index in 0..<m.n_annotations {
                guard let entry = entries[index]?.pointee else { continue }
                let key = try string(entry.key, "annotations key")
                annotations[key] = try string(entry.value, "annotation \"\(key)\" value")
            }
            event.annotations = annotations
        }
        return event
    }

    @inline(__always)
    private static func string(_ pointer: UnsafeMutablePointer<CChar>?, _ field: @autoclosure () -> String) throws(EventRejection) -> String {
        try ProtobufString.read(pointer, field())
    }
}
