import AlertCore
import Glibc

/// A byte range of a payload (offset and length; payloads are far below 4 GiB).
struct WireSpan {
    var start: UInt32
    var count: UInt32

    static let empty = WireSpan(start: 0, count: 0)
}

/// One map entry (`labels` or `annotations`) of a payload: key and value ranges.
struct WireEntry {
    var name: WireSpan
    var value: WireSpan
}

/// `alerting.v1.AlertEvent` read in place from its protobuf wire bytes, for
/// the duplicate fast path (docs/ARCHITECTURE.md, Data flow, step 1): the
/// fields as byte ranges of the payload, map entries in caller-provided
/// buffers, no Swift `String`, no allocation.
///
/// `read` accepts only a strict subset of what the full path
/// (`ProtobufEventDecoder`, then `AlertEvent.validate`) accepts, and reads it
/// to the same values: every known field at most once with its own wire
/// type, one-byte tags (no unknown field), enum values in range as one
/// byte, integers as non-negative varints of at most 9 bytes, strings that
/// are valid UTF-8 without a NUL byte (protobuf-c's C strings would end
/// there), map entries of exactly a non-empty key and a value, and every
/// limit of `EventLimits` checked on each entry. Anything else — a RESOLVED
/// event included — is nil, and the caller takes the full path, which
/// accepts or rejects it as always. So the fast path can never reject
/// what the full path accepts, nor accept what it rejects.
struct AlertEventWire {
    var alertType = WireSpan.empty
    var source = WireSpan.empty
    var summary = WireSpan.empty
    var description = WireSpan.empty
    var dedupKey = WireSpan.empty
    var eventID = WireSpan.empty
    var generatorURL = WireSpan.empty
    /// `Severity.rawValue`, 0…4.
    var severity: UInt8 = 0
    var occurredAtUnixMs: Int64 = 0
    var currentValue: Double?
    var thresholdValue: Double?
    var iteration: Int64?
    /// Entries read into the `labels` buffer passed to `read`.
    var labelCount = 0
    /// Entries read into the `annotations` buffer passed to `read`.
    var annotationCount = 0

    /// Reads `payload` (a FIRING event) into ranges; nil when it is anything
    /// the fast path does not handle. `labels` and `annotations` receive the
    /// map entries, in wire order; more entries than they hold is nil too.
    static func read(
        _ payload: UnsafeRawBufferPointer, limits: EventLimits,
        labels: UnsafeMutableBufferPointer<WireEntry>, annotations: UnsafeMutableBufferPointer<WireEntry>
    ) -> AlertEventWire? {
        guard let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self), payload.count > 0,
              payload.count <= limits.maxPayloadBytes, payload.count < Int(UInt32.max) else { return nil }
        let end = payload.count
        let maxLabels = min(limits.maxLabels, labels.count)
        let maxAnnotations = min(limits.maxAnnotations, annotations.count)
        var event = AlertEventWire()
        var seen: UInt32 = 0
        var index = 0
        while index < end {
            let tag = base[index]
            index += 1
            // Fields 1…15 have one-byte tags; a longer tag is an unknown field.
            guard tag & 0x80 == 0 else { return nil }
            let field = tag >> 3
            let wireType = tag & 7
            let bit: UInt32 = 1 << UInt32(field)
            // Maps (7, 8) repeat; every other field may appear once.
            if field != 7 && field != 8 {
                guard seen & bit == 0 else { return nil }
                seen |= bit
            }
            switch (field, wireType) {
            case (1, 2), (4, 2), (5, 2), (6, 2), (13, 2), (14, 2), (15, 2):
                guard let span = lengthDelimited(base, &index, end), isUTF8(base, span) else { return nil }
                let limit = field == 1 || field == 4 || field == 13 ? limits.maxLabelValueBytes : limits.maxAnnotationValueBytes
                guard Int(span.count) <= limit else { return nil }
                switch field {
                case 1: event.alertType = span
                case 4: event.source = span
                case 5: event.summary = span
                case 6: event.description = span
                case 13: event.dedupKey = span
                case 14: event.eventID = span
                default: event.generatorURL = span
                }
            case (2, 0):
                // Severity: one byte, a known value.
                guard index < end, base[index] <= 4 else { return nil }
                event.severity = base[index]
                index += 1
            case (3, 0):
                // Status: FIRING only; a RESOLVED changes the alert.
                guard index < end, base[index] == 0 else { return nil }
                index += 1
            case (7, 2), (8, 2):
                guard let span = lengthDelimited(base, &index, end),
                      let entry = entry(base, Int(span.start), Int(span.start + span.count)) else { return nil }
                if field == 7 {
                    guard event.labelCount < maxLabels,
                          Int(entry.name.count) <= limits.maxLabelNameBytes, isLabelName(base, entry.name),
                          Int(entry.value.count) <= limits.maxLabelValueBytes, isUTF8(base, entry.value) else { return nil }
                    labels[event.labelCount] = entry
                    event.labelCount += 1
                } else {
                    // ASCII names only: for them Swift's `String` equality (the
                    // full path compares annotations as dictionaries) is byte equality.
                    guard event.annotationCount < maxAnnotations,
                          Int(entry.name.count) <= limits.maxLabelNameBytes, isASCII(base, entry.name),
                          Int(entry.value.count) <= limits.maxAnnotationValueBytes, isUTF8(base, entry.value) else { return nil }
                    annotations[event.annotationCount] = entry
                    event.annotationCount += 1
                }
            case (9, 0):
                guard let value = varint(base, &index, end, maxBytes: 9) else { return nil }
                event.occurredAtUnixMs = Int64(value)
            case (12, 0):
                guard let value = varint(base, &index, end, maxBytes: 9) else { return nil }
                event.iteration = Int64(value)
            case (10, 1), (11, 1):
                guard end - index >= 8 else { return nil }
                let bits = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                index += 8
                if field == 10 { event.currentValue = Double(bitPattern: bits) } else { event.thresholdValue = Double(bitPattern: bits) }
            default:
                return nil
            }
        }
        return event
    }

    /// A base-128 varint of at most `maxBytes` bytes (9 keeps it below 2^63).
    @inline(__always)
    static func varint(_ base: UnsafePointer<UInt8>, _ index: inout Int, _ end: Int, maxBytes: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var length = 0
        while index < end {
            let byte = base[index]
            index += 1
            length += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            if length == maxBytes { return nil }
            shift += 7
        }
        return nil
    }

    /// A length prefix (at most 3 bytes: 2 MiB) and the range it covers, inside `end`.
    @inline(__always)
    static func lengthDelimited(_ base: UnsafePointer<UInt8>, _ index: inout Int, _ end: Int) -> WireSpan? {
        guard let length = varint(base, &index, end, maxBytes: 3), Int(length) <= end - index else { return nil }
        let span = WireSpan(start: UInt32(index), count: UInt32(length))
        index += Int(length)
        return span
    }

    /// A map entry: field 1 (key, non-empty) and field 2 (value, may be
    /// absent = empty), each at most once, nothing else.
    static func entry(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> WireEntry? {
        var index = start
        var name: WireSpan?
        var value: WireSpan?
        while index < end {
            let tag = base[index]
            index += 1
            guard tag == 0x0a || tag == 0x12, let span = lengthDelimited(base, &index, end) else { return nil }
            if tag == 0x0a {
                guard name == nil else { return nil }
                name = span
            } else {
                guard value == nil else { return nil }
                value = span
            }
        }
        guard let name, name.count > 0 else { return nil }
        return WireEntry(name: name, value: value ?? .empty)
    }

    /// Prometheus' label-name rule, as `AlertEvent.isValidLabelName`:
    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
    static func isLabelName(_ base: UnsafePointer<UInt8>, _ span: WireSpan) -> Bool {
        let start = Int(span.start)
        let count = Int(span.count)
        guard count > 0 else { return false }
        if count >= 2 && base[start] == UInt8(ascii: "_") && base[start + 1] == UInt8(ascii: "_") { return false }
        for offset in 0..<count {
            let byte = base[start + offset]
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard letter || byte == UInt8(ascii: "_") || (digit && offset > 0) else { return false }
        }
        return true
    }

    /// Printable-or-control ASCII without NUL.
    static func isASCII(_ base: UnsafePointer<UInt8>, _ span: WireSpan) -> Bool {
        let start = Int(span.start)
        for offset in 0..<Int(span.count) {
            let byte = base[start + offset]
            guard byte != 0 && byte < 0x80 else { return false }
        }
        return true
    }

    /// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
    /// past U+10FFFF — what `String(validatingCString:)` accepts) without a
    /// NUL byte.
    static func isUTF8(_ base: UnsafePointer<UInt8>, _ span: WireSpan) -> Bool {
        isUTF8(UnsafeRawBufferPointer(start: base + Int(span.start), count: Int(span.count)))
    }

    static func isUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let end = bytes.count
        var index = 0
        while index < end {
            let lead = base[index]
            if lead < 0x80 {
                guard lead != 0 else { return false }
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xbf
            switch lead {
            case 0xc2...0xdf: length = 2
            case 0xe0: length = 3; low = 0xa0
            case 0xe1...0xec, 0xee...0xef: length = 3
            case 0xed: length = 3; high = 0x9f
            case 0xf0: length = 4; low = 0x90
            case 0xf1...0xf3: length = 4
            case 0xf4: length = 4; high = 0x8f
            default: return false
            }
            guard end - index >= length else { return false }
            let second = base[index + 1]
            guard second >= low && second <= high else { return false }
            for offset in 2..<max(2, length) where base[index + offset] & 0xc0 != 0x80 { return false }
            index += length
        }
        return true
    }

    /// Byte-wise order (Go's string order, `LabelSet.precedes`): negative,
    /// zero or positive.
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0 {
            let order = memcmp(a.baseAddress!, b.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }
}
