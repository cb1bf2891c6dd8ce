public import AlertCore
import Foundation
import CAlertProto
import CProtobufC

/// Decodes the protobuf binary form of `alerting.v1.MetricSample` with
/// protobuf-c, straight from the NATS message's memory (as
/// `ProtobufEventDecoder` does for events).
public enum ProtobufSampleDecoder {
    public static func decode(_ bytes: UnsafeRawBufferPointer, subject: String) throws(EventRejection) -> MetricSample {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            // All fields at their defaults encode to nothing: a bare sample of
            // value 0 (a failure in a 1/0 success stream, a heartbeat) is empty on the wire.
            return MetricSample(subject: subject)
        }
        guard let message = alerting__v1__metric_sample__unpack(nil, bytes.count, base) else {
            throw EventRejection(.invalidProtobuf, "not a valid alerting.v1.MetricSample (\(bytes.count) bytes): truncated, malformed or wrong wire types")
        }
        defer { alerting__v1__metric_sample__free_unpacked(message, nil) }
        let m = message.pointee
        var sample = MetricSample(value: m.value, occurredAtUnixMs: m.occurred_at_unix_ms, subject: subject)
        sample.name = try string(m.name, "name")
        sample.source = try string(m.source, "source")
        if m.iteration_presence_case == ALERTING__V1__METRIC_SAMPLE__ITERATION_PRESENCE_ITERATION {
            sample.iteration = m.iteration
        }
        if m.n_labels > 0, let entries = m.labels {
            var labels: [String: String] = [:]
            labels.reserveCapacity(m.n_labels)
            for index in 0..<m.n_labels {
                guard let entry = entries[index]?.pointee else { continue }
                let key = try string(entry.key, "labels key")
                labels[key] = try string(entry.value, "label \"\(key)\" value")
            }
            sample.labels = labels
        }
        return sample
    }

    @inline(__always)
    private static func string(_ pointer: UnsafeMutablePointer<CChar>?, _ field: @autoclosure () -> String) throws(EventRejection) -> String {
        try ProtobufString.read(pointer, field())
    }
}

/// Decodes the proto3 JSON form of `alerting.v1.MetricSample` (NATS header
/// `Content-Type: application/json`), with the same mapping rules as
/// `JSONEventDecoder`: lowerCamelCase or snake_case names, 64-bit integers as
/// numbers or strings, unknown fields ignored.
public enum JSONSampleDecoder {
    public static func decode(_ bytes: UnsafeRawBufferPointer, subject: String) throws(EventRejection) -> MetricSample {
        let fields = try JSONValue.object(bytes, message: "alerting.v1.MetricSample")
        var sample = MetricSample(subject: subject)
        for (key, value) in fields {
            if case .null = value { continue }
            switch key {
            case "name": sample.name = try JSONEventDecoder.string(value, key)
            case "value": sample.value = try JSONEventDecoder.double(value, key)
            case "labels": sample.labels = try JSONEventDecoder.stringMap(value, key)
            case "iteration": sample.iteration = try JSONEventDecoder.int64(value, key)
            case "occurredAtUnixMs", "occurred_at_unix_ms": sample.occurredAtUnixMs = try JSONEventDecoder.int64(value, key)
            case "source": sample.source = try JSONEventDecoder.string(value, key)
            default: continue
            }
        }
        return sample
    }
}
