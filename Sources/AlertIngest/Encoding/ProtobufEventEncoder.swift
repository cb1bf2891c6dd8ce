public import AlertCore
import CAlertProto
import CProtobufC
import Foundation

/// Encodes an `AlertEvent` in the protobuf binary form with protobuf-c — what
/// `nats-alerter send`, the tests and the load generator publish. The C
/// message borrows strdup'ed copies that are freed before returning.
public enum ProtobufEventEncoder {
    public static func encode(_ event: AlertEvent) -> [UInt8] {
        var arena = CStringArena()
        defer { arena.free() }
        func c(_ string: String) -> UnsafeMutablePointer<CChar> { arena.copy(string) }

        var m = Alerting__V1__AlertEvent()
        alerting__v1__alert_event__init(&m)
        m.alert_type = c(event.alertType)
        m.severity = Alerting__V1__Severity(rawValue: UInt32(bitPattern: event.severity.rawValue))
        m.status = Alerting__V1__Status(rawValue: UInt32(bitPattern: event.status.rawValue))
        m.source = c(event.source)
        m.summary = c(event.summary)
        m.description = c(event.description)
        m.occurred_at_unix_ms = event.occurredAtUnixMs
        m.dedup_key = c(event.dedupKey)
        m.event_id = c(event.eventID)
        m.generator_url = c(event.generatorURL)
        if let value = event.currentValue {
            m.current_value_presence_case = ALERTING__V1__ALERT_EVENT__CURRENT_VALUE_PRESENCE_CURRENT_VALUE
            m.current_value = value
        }
        if let value = event.thresholdValue {
            m.threshold_value_presence_case = ALERTING__V1__ALERT_EVENT__THRESHOLD_VALUE_PRESENCE_THRESHOLD_VALUE
            m.threshold_value = value
        }
        if let value = event.iteration {
            m.iteration_presence_case = ALERTING__V1__ALERT_EVENT__ITERATION_PRESENCE_ITERATION
            m.iteration = value
        }

        let labelEntries = UnsafeMutablePointer<Alerting__V1__AlertEvent__LabelsEntry>.allocate(capacity: max(event.labels.count, 1))
        let labelPointers = UnsafeMutablePointer<UnsafeMutablePointer<Alerting__V1__AlertEvent__LabelsEntry>?>.allocate(capacity: max(event.labels.count, 1))
        defer { labelEntries.deallocate(); labelPointers.deallocate() }
        for (index, (key, value)) in event.labels.sorted(by: { $0.key < $1.key }).enumerated() {
            alerting__v1__alert_event__labels_entry__init(labelEntries + index)
            labelEntries[index].key = c(key)
            labelEntries[index].value = c(value)
            labelPointers[index] = labelEntries + index
        }
        m.n_labels = event.labels.count
        m.labels = event.labels.isEmpty ? nil : labelPointers

        let annotationEntries = UnsafeMutablePointer<Alerting__V1__AlertEvent__AnnotationsEntry>.allocate(capacity: max(event.annotations.count, 1))
        let annotationPointers = UnsafeMutablePointer<UnsafeMutablePointer<Alerting__V1__AlertEvent__AnnotationsEntry>?>.allocate(capacity: max(event.annotations.count, 1))
        defer { annotationEntries.deallocate(); annotationPointers.deallocate() }
        for (index, (key, value)) in event.annotations.sorted(by: { $0.key < $1.key }).enumerated() {
            alerting__v1__alert_event__annotations_entry__init(annotationEntries + index)
            annotationEntries[index].key = c(key)
            annotationEntries[index].value = c(value)
            annotationPointers[index] = annotationEntries + index
        }
        m.n_annotations = event.annotations.count
        m.annotations = event.annotations.isEmpty ? nil : annotationPointers

        let size = alerting__v1__alert_event__get_packed_size(&m)
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBufferPointer { alerting__v1__alert_event__pack(&m, $0.baseAddress!) }
        precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
        return bytes
    }
}

/// Encodes an `AlertEvent` in its proto3 JSON form (lowerCamelCase names,
/// enums by name, 64-bit integers as strings), as a publisher would send it
/// with `Content-Type: application/json`.
public enum JSONEventEncoder {
    public static func encode(_ event: AlertEvent) -> [UInt8] {
        var object: [String: Any] = [:]
        if !event.alertType.isEmpty { object["alertType"] = event.alertType }
        if event.severity != .unspecified { object["severity"] = event.severity.protoName }
        if event.status != .firing { object["status"] = event.status.protoName }
        if !event.source.isEmpty { object["source"] = event.source }
        if !event.summary.isEmpty { object["summary"] = event.summary }
        if !event.description.isEmpty { object["description"] = event.description }
        if !event.labels.isEmpty { object["labels"] = event.labels }
        if !event.annotations.isEmpty { object["annotations"] = event.annotations }
        if event.occurredAtUnixMs != 0 { object["occurredAtUnixMs"] = String(event.occurredAtUnixMs) }
        if let value = event.currentValue { object["currentValue"] = jsonNumber(value) }
        if let value = event.thresholdValue { object["thresholdValue"] = jsonNumber(value) }
        if let value = event.iteration { object["iteration"] = String(value) }
        if !event.dedupKey.isEmpty { object["dedupKey"] = event.dedupKey }
        if !event.eventID.isEmpty { object["eventId"] = event.eventID }
        if !event.generatorURL.isEmpty { object["generatorUrl"] = event.generatorURL }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return [UInt8](data)
    }

    private static func jsonNumber(_ value: Double) -> Any {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return value
    }
}
