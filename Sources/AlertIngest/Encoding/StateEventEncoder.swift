import CAlertProto
import CProtobufC
import Foundation

/// What the control plane publishes when an alert changes state
/// (`alerting.v1.AlertStateEvent`, proto/alerting/v1/state_event.proto;
/// docs/ARCHITECTURE.md, Control plane).
public struct AlertStateEvent: Sendable, Equatable {
    public enum Change: String, Sendable, CaseIterable {
        case firing, resolved, silenced, unsilenced

        var protoName: String { "CHANGE_\(rawValue.uppercased())" }
        var protoValue: UInt32 {
            switch self {
            case .firing: 1
            case .resolved: 2
            case .silenced: 3
            case .unsilenced: 4
            }
        }
    }

    public var change: Change
    /// 16 hex digits, as the HTTP API shows it.
    public var fingerprint: String
    public var labels: [String: String]
    public var startsAtUnixMs: Int64
    /// 0 while firing.
    public var endsAtUnixMs: Int64
    public var silencedBy: [String]
    public var observedAtUnixMs: Int64

    public init(change: Change, fingerprint: String, labels: [String: String], startsAtUnixMs: Int64, endsAtUnixMs: Int64 = 0,
                silencedBy: [String] = [], observedAtUnixMs: Int64) {
        self.change = change
        self.fingerprint = fingerprint
        self.labels = labels
        self.startsAtUnixMs = startsAtUnixMs
        self.endsAtUnixMs = endsAtUnixMs
        self.silencedBy = silencedBy
        self.observedAtUnixMs = observedAtUnixMs
    }
}

/// What the control plane publishes when a notification is delivered or
/// given up (`alerting.v1.NotificationStateEvent`).
public struct NotificationStateEvent: Sendable, Equatable {
    public enum Outcome: String, Sendable, CaseIterable {
        case sent, failed
        case deadLettered = "dead_lettered"

        var protoName: String { "OUTCOME_\(rawValue.uppercased())" }
        var protoValue: UInt32 {
            switch self {
            case .sent: 1
            case .failed: 2
            case .deadLettered: 3
            }
        }
    }

    public var outcome: Outcome
    public var notificationID: String
    public var receiver: String
    public var integration: String
    public var groupKey: String
    public var fingerprints: [String]
    public var firing: Int32
    public var resolved: Int32
    public var attempts: Int32
    public var reason: String
    public var error: String
    public var observedAtUnixMs: Int64

    public init(outcome: Outcome, notificationID: String, receiver: String, integration: String, groupKey: String, fingerprints: [String],
                firing: Int32, resolved: Int32, attempts: Int32, reason: String = "", error: String = "", observedAtUnixMs: Int64) {
        self.outcome = outcome
        self.notificationID = notificationID
        self.receiver = receiver
        self.integration = integration
        self.groupKey = groupKey
        self.fingerprints = fingerprints
        self.firing = firing
        self.resolved = resolved
        self.attempts = attempts
        self.reason = reason
        self.error = error
        self.observedAtUnixMs = observedAtUnixMs
    }
}

/// Encodes state-change events in the protobuf binary form (protobuf-c) or
/// their proto3 JSON form (lowerCamelCase names, enums by name, 64-bit
/// integers as strings, empty fields left out). The C messages borrow
/// strdup'ed copies that are freed before returning.
public enum StateEventEncoder {
    public static func protobuf(_ event: AlertStateEvent) -> [UInt8] {
        var arena = CStringArena()
        defer { arena.free() }
        var m = Alerting__V1__AlertStateEvent()
        alerting__v1__alert_state_event__init(&m)
        m.change = Alerting__V1__AlertStateEvent__Change(rawValue: event.change.protoValue)
        m.fingerprint = arena.copy(event.fingerprint)
        m.starts_at_unix_ms = event.startsAtUnixMs
        m.ends_at_unix_ms = event.endsAtUnixMs
        m.observed_at_unix_ms = event.observedAtUnixMs
        let labels = event.labels.sorted { $0.key < $1.key }
        let entries = UnsafeMutablePointer<Alerting__V1__AlertStateEvent__LabelsEntry>.allocate(capacity: max(labels.count, 1))
        let entryPointers = UnsafeMutablePointer<UnsafeMutablePointer<Alerting__V1__AlertStateEvent__LabelsEntry>?>.allocate(capacity: max(labels.count, 1))
        defer { entries.deallocate(); entryPointers.deallocate() }
        for (index, (key, value)) in labels.enumerated() {
            alerting__v1__alert_state_event__labels_entry__init(entries + index)
            entries[index].key = arena.copy(key)
            entries[index].value = arena.copy(value)
            entryPointers[index] = entries + index
        }
        m.n_labels = labels.count
        m.labels = labels.isEmpty ? nil : entryPointers
        return withCStrings(event.silencedBy, in: &arena) { pointer, count in
            m.n_silenced_by = count
            m.silenced_by = pointer
            return packed(size: alerting__v1__alert_state_event__get_packed_size(&m)) { alerting__v1__alert_state_event__pack(&m, $0) }
        }
    }

    public static func protobuf(_ event: NotificationStateEvent) -> [UInt8] {
        var arena = CStringArena()
        defer { arena.free() }
        var m = Alerting__V1__NotificationStateEvent()
        alerting__v1__notification_state_event__init(&m)
        m.outcome = Alerting__V1__NotificationStateEvent__Outcome(rawValue: event.outcome.protoValue)
        m.notification_id = arena.copy(event.notificationID)
        m.receiver = arena.copy(event.receiver)
        m.integration = arena.copy(event.integration)
        m.group_key = arena.copy(event.groupKey)
        m.firing = event.firing
        m.resolved = event.resolved
        m.attempts = event.attempts
        m.reason = arena.copy(event.reason)
        m.error = arena.copy(event.error)
        m.observed_at_unix_ms = event.observedAtUnixMs
        return withCStrings(event.fingerprints, in: &arena) { pointer, count in
            m.n_fingerprints = count
            m.fingerprints = pointer
            return packed(size: alerting__v1__notification_state_event__get_packed_size(&m)) { alerting__v1__notification_state_event__pack(&m, $0) }
        }
    }

    /// The bytes `pack` writes into a buffer of the packed size protobuf-c computed.
    private static func packed(size: Int, _ pack: (UnsafeMutablePointer<UInt8>) -> Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBufferPointer { pack($0.baseAddress!) }
        precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
        return bytes
    }

    /// A `repeated string` as protobuf-c wants it: a C array of C strings, borrowed for the call.
    private static func withCStrings<R>(_ strings: [String], in arena: inout CStringArena,
                                        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, Int) -> R) -> R {
        guard !strings.isEmpty else { return body(nil, 0) }
        let pointers = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count)
        defer { pointers.deallocate() }
        for (index, string) in strings.enumerated() { pointers[index] = arena.copy(string) }
        return body(pointers, strings.count)
    }

    public static func json(_ event: AlertStateEvent) -> [UInt8] {
        var object: [String: Any] = ["change": event.change.protoName, "fingerprint": event.fingerprint]
        if !event.labels.isEmpty { object["labels"] = event.labels }
        if event.startsAtUnixMs != 0 { object["startsAtUnixMs"] = String(event.startsAtUnixMs) }
        if event.endsAtUnixMs != 0 { object["endsAtUnixMs"] = String(event.endsAtUnixMs) }
        if !event.silencedBy.isEmpty { object["silencedBy"] = event.silencedBy }
        if event.observedAtUnixMs != 0 { object["observedAtUnixMs"] = String(event.observedAtUnixMs) }
        return serialize(object)
    }

    public static func json(_ event: NotificationStateEvent) -> [UInt8] {
        var object: [String: Any] = ["outcome": event.outcome.protoName, "notificationId": event.notificationID,
                                     "receiver": event.receiver, "integration": event.integration]
        if !event.groupKey.isEmpty { object["groupKey"] = event.groupKey }
        if !event.fingerprints.isEmpty { object["fingerprints"] = event.fingerprints }
        if event.firing != 0 { object["firing"] = event.firing }
        if event.resolved != 0 { object["resolved"] = event.resolved }
        if event.attempts != 0 { object["attempts"] = event.attempts }
        if !event.reason.isEmpty { object["reason"] = event.reason }
        if !event.error.isEmpty { object["error"] = event.error }
        if event.observedAtUnixMs != 0 { object["observedAtUnixMs"] = String(event.observedAtUnixMs) }
        return serialize(object)
    }

    private static func serialize(_ object: [String: Any]) -> [UInt8] {
        [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }
}

/// Decodes the protobuf form of state-change events: for subscribers written
/// in Swift (and the tests). Nil when the bytes are not such a message.
public enum StateEventDecoder {
    public static func alert(_ bytes: [UInt8]) -> AlertStateEvent? {
        bytes.withUnsafeBufferPointer { buffer -> AlertStateEvent? in
            guard let m = alerting__v1__alert_state_event__unpack(nil, buffer.count, buffer.baseAddress) else { return nil }
            defer { alerting__v1__alert_state_event__free_unpacked(m, nil) }
            let message = m.pointee
            guard let change = AlertStateEvent.Change.allCases.first(where: { $0.protoValue == message.change.rawValue }) else { return nil }
            var labels: [String: String] = [:]
            for index in 0..<message.n_labels {
                guard let entry = message.labels[index] else { continue }
                labels[string(entry.pointee.key)] = string(entry.pointee.value)
            }
            return AlertStateEvent(change: change, fingerprint: string(message.fingerprint), labels: labels,
                                   startsAtUnixMs: message.starts_at_unix_ms, endsAtUnixMs: message.ends_at_unix_ms,
                                   silencedBy: strings(message.silenced_by, message.n_silenced_by),
                                   observedAtUnixMs: message.observed_at_unix_ms)
        }
    }

    public static func notification(_ bytes: [UInt8]) -> NotificationStateEvent? {
        bytes.withUnsafeBufferPointer { buffer -> NotificationStateEvent? in
            guard let m = alerting__v1__notification_state_event__unpack(nil, buffer.count, buffer.baseAddress) else { return nil }
            defer { alerting__v1__notification_state_event__free_unpacked(m, nil) }
            let message = m.pointee
            guard let outcome = NotificationStateEvent.Outcome.allCases.first(where: { $0.protoValue == message.outcome.rawValue }) else { return nil }
            return NotificationStateEvent(outcome: outcome, notificationID: string(message.notification_id), receiver: string(message.receiver),
                                          integration: string(message.integration), groupKey: string(message.group_key),
                                          fingerprints: strings(message.fingerprints, message.n_fingerprints),
                                          firing: message.firing, resolved: message.resolved, attempts: message.attempts,
                                          reason: string(message.reason), error: string(message.error),
                                          observedAtUnixMs: message.observed_at_unix_ms)
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }

    private static func strings(_ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int) -> [String] {
        guard let array else { return [] }
        return (0..<count).map { string(array[$0]) }
    }
}
