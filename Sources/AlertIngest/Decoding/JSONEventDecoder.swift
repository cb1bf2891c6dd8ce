public import AlertCore
import Foundation

/// Decodes the proto3 JSON form of `alerting.v1.AlertEvent` (sent with the
/// NATS header `Content-Type: application/json`).
///
/// Follows the proto3 JSON mapping: lowerCamelCase field names (the original
/// snake_case names are accepted too), enums by name or number, 64-bit
/// integers as numbers or decimal strings, doubles as numbers or the strings
/// "NaN"/"Infinity"/"-Infinity", `null` for a default. As a convenience the
/// enums also take their short forms (`"critical"`, `"resolved"`). Unknown
/// fields are ignored, as the binary form ignores unknown fields, so a newer
/// publisher keeps working against an older service.
public enum JSONEventDecoder {
    public static func decode(_ bytes: UnsafeRawBufferPointer, subject: String) throws(EventRejection) -> AlertEvent {
        let fields = try JSONValue.object(bytes, message: "alerting.v1.AlertEvent")
        var event = AlertEvent(subject: subject)
        for (key, value) in fields {
            if case .null = value { continue }
            switch key {
            case "alertType", "alert_type": event.alertType = try string(value, key)
            case "severity":
                event.severity = try enumValue(value, key, byName: Severity.init(name:), byNumber: Severity.init(rawValue:))
            case "status":
                event.status = try enumValue(value, key, byName: EventStatus.init(name:), byNumber: EventStatus.init(rawValue:))
            case "source": event.source = try string(value, key)
            case "summary": event.summary = try string(value, key)
            case "description": event.description = try string(value, key)
            case "labels": event.labels = try stringMap(value, key)
            case "annotations": event.annotations = try stringMap(value, key)
            case "occurredAtUnixMs", "occurred_at_unix_ms": event.occurredAtUnixMs = try int64(value, key)
            case "currentValue", "current_value": event.currentValue = try double(value, key)
            case "thresholdValue", "threshold_value": event.thresholdValue = try double(value, key)
            case "iteration": event.iteration = try int64(value, key)
            case "dedupKey", "dedup_key": event.dedupKey = try string(value, key)
            case "eventId", "event_id": event.eventID = try string(value, key)
            case "generatorUrl", "generator_url": event.generatorURL = try string(value, key)
            default: continue
            }
        }
        return event
    }

    static func string(_ value: JSONValue, _ field: String) throws(EventRejection) -> String {
        guard case .string(let string) = value else {
            throw EventRejection(.invalidJSON, "field \"\(field)\" must be a string")
        }
        return string
    }

    static func stringMap(_ value: JSONValue, _ field: String) throws(EventRejection) -> [String: String] {
        guard case .object(let map) = value else {
            throw EventRejection(.invalidJSON, "field \"\(field)\" must be an object of strings")
        }
        var result: [String: String] = [:]
        result.reserveCapacity(map.count)
        for (key, entry) in map {
            guard case .string(let string) = entry else {
                throw EventRejection(.invalidJSON, "field \"\(field)\": value of \"\(key)\" must be a string")
            }
            result[key] = string
        }
        return result
    }

    static func int64(_ value: JSONValue, _ field: String) throws(EventRejection) -> Int64 {
        switch value {
        case .integer(let integer):
            return integer
        case .string(let string):
            guard let parsed = Int64(string) else {
                throw EventRejection(.invalidJSON, "field \"\(field)\": \"\(string.prefix(40))\" is not a 64-bit integer")
            }
            return parsed
        case .double(let double):
            guard double.rounded() == double, let exact = Int64(exactly: double) else {
                throw EventRejection(.invalidJSON, "field \"\(field)\": \(double) is not an integer")
            }
            return exact
        default:
            throw EventRejection(.invalidJSON, "field \"\(field)\" must be an integer")
        }
    }

    static func double(_ value: JSONValue, _ field: String) throws(EventRejection) -> Double {
        switch value {
        case .integer(let integer):
            return Double(integer)
        case .double(let double):
            return double
        case .string(let string):
            switch string {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let parsed = Double(string) else {
                    throw EventRejection(.invalidJSON, "field \"\(field)\": \"\(string.prefix(40))\" is not a number")
                }
                return parsed
            }
        default:
            throw EventRejection(.invalidJSON, "field \"\(field)\" must be a number")
        }
    }

    private static func enumValue<E>(
        _ value: JSONValue, _ field: String,
        byName: (String) -> E?, byNumber: (Int32) -> E?
    ) throws(EventRejection) -> E {
        switch value {
        case .string(let name):
            guard let parsed = byName(name) else {
                throw EventRejection(.unknownEnumValue, "field \"\(field)\": \"\(name.prefix(40))\" is not a known value")
            }
            return parsed
        case .integer(let number):
            guard let raw = Int32(exactly: number), let parsed = byNumber(raw) else {
                throw EventRejection(.unknownEnumValue, "field \"\(field)\": \(number) is not a known value")
            }
            return parsed
        default:
            throw EventRejection(.invalidJSON, "field \"\(field)\" must be an enum name or number")
        }
    }

    static func describe(_ error: any Error) -> String {
        let text: String
        switch error as? DecodingError {
        case .dataCorrupted(let context): text = context.debugDescription
        case .typeMismatch(_, let context): text = context.debugDescription
        default: text = "\(error)"
        }
        return String(text.prefix(200))
    }
}

/// Any JSON value, keeping integers exact (64-bit) apart from other numbers.
enum JSONValue: Decodable {
    /// Deepest nesting accepted. The messages need 2 (`labels` inside the
    /// event); deeper input is refused before Foundation decodes it, whose
    /// failed attempts at each level cost time growing with the depth (a
    /// 10 KB payload nested a thousand deep took the ingest thread for a
    /// good part of a second).
    static let maximumDepth = 16

    /// The top-level object of a JSON payload, for the message `message`.
    static func object(_ bytes: UnsafeRawBufferPointer, message: String) throws(EventRejection) -> [String: JSONValue] {
        guard bytes.count > 0 else { throw EventRejection(.emptyPayload, "payload is empty") }
        if let depth = JSONNesting.depthExceeding(maximumDepth, in: bytes) {
            throw EventRejection(.invalidJSON, "JSON nested deeper than \(maximumDepth) levels (at least \(depth)); \(message) needs 2")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw EventRejection(.invalidJSON, "not valid JSON (\(bytes.count) bytes): \(JSONEventDecoder.describe(error))")
        }
        guard case .object(let fields) = value else {
            throw EventRejection(.invalidJSON, "top level must be a JSON object for \(message)")
        }
        return fields
    }


    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
