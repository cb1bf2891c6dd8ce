public import AlertCore
import CAlertProto
import CProtobufC
import Foundation

/// Encodes a `MetricSample` in the protobuf binary form with protobuf-c — what
/// `nats-alerter send-sample`, the tests and the rules benchmark publish.
public enum ProtobufSampleEncoder {
    public static func encode(_ sample: MetricSample) -> [UInt8] {
        var arena = CStringArena()
        defer { arena.free() }
        func c(_ string: String) -> UnsafeMutablePointer<CChar> { arena.copy(string) }
        var m = Alerting__V1__MetricSample()
        alerting__v1__metric_sample__init(&m)
        m.name = c(sample.name)
        m.value = sample.value
        m.source = c(sample.source)
        m.occurred_at_unix_ms = sample.occurredAtUnixMs
        if let iteration = sample.iteration {
            m.iteration_presence_case = ALERTING__V1__METRIC_SAMPLE__ITERATION_PRESENCE_ITERATION
            m.iteration = iteration
        }
        let entries = UnsafeMutablePointer<Alerting__V1__MetricSample__LabelsEntry>.allocate(capacity: max(sample.labels.count, 1))
        let pointers = UnsafeMutablePointer<UnsafeMutablePointer<Alerting__V1__MetricSample__LabelsEntry>?>.allocate(capacity: max(sample.labels.count, 1))
        defer { entries.deallocate(); pointers.deallocate() }
        for (index, (key, value)) in sample.labels.sorted(by: { $0.key < $1.key }).enumerated() {
            alerting__v1__metric_sample__labels_entry__init(entries + index)
            entries[index].key = c(key)
            entries[index].value = c(value)
            pointers[index] = entries + index
        }
        m.n_labels = sample.labels.count
        m.labels = sample.labels.isEmpty ? nil : pointers
        let size = alerting__v1__metric_sample__get_packed_size(&m)
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBufferPointer { alerting__v1__metric_sample__pack(&m, $0.baseAddress!) }
        precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
        return bytes
    }
}
