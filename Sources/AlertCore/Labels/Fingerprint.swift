/// The identity of an alert: Alertmanager's (prometheus/common's) label-set
/// fingerprint, so an alert has the same ID in nats-alerter and Alertmanager.
///
/// FNV-1a 64 over the label names in sorted order, each name followed by the
/// separator byte 0xff, its value, and 0xff again. The empty set hashes to the
/// FNV offset basis. Printed as 16 lowercase hex digits, as Alertmanager's API
/// prints it.
public struct Fingerprint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public init(labels: LabelSet) {
        var hash = FNV1a64()
        for label in labels.labels {
            hash.add(label.name)
            hash.add(byte: 0xff)
            hash.add(label.value)
            hash.add(byte: 0xff)
        }
        self.rawValue = hash.value
    }

    /// Parses the 16-hex-digit form (as in Alertmanager's API); nil otherwise.
    public init?(hex: String) {
        guard hex.utf8.count == 16, let value = UInt64(hex, radix: 16) else { return nil }
        self.rawValue = value
    }

    public var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    public static func < (lhs: Fingerprint, rhs: Fingerprint) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

/// 64-bit FNV-1a, as prometheus/common's `hashAdd`/`hashAddByte`.
@usableFromInline
struct FNV1a64 {
    @usableFromInline static let offsetBasis: UInt64 = 14_695_981_039_346_656_037
    @usableFromInline static let prime: UInt64 = 1_099_511_628_211

    @usableFromInline var value: UInt64 = FNV1a64.offsetBasis

    @inlinable init() {}

    @inlinable mutating func add(byte: UInt8) {
        value ^= UInt64(byte)
        value &*= Self.prime
    }

    @inlinable mutating func add(_ string: String) {
        // Native strings are contiguous UTF-8: hash the bytes in place (the
        // generic `utf8` view was 5 % of ingest time in a storm).
        var string = string
        string.withUTF8 { bytes in add(UnsafeRawBufferPointer(bytes)) }
    }

    @inlinable mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { add(byte: byte) }
    }
}

/// Builds a fingerprint from label bytes that are not (yet) Swift strings:
/// the duplicate fast path hashes the label byte ranges of a payload in
/// place (docs/ARCHITECTURE.md, Data flow, step 1). Same hash as
/// `Fingerprint(labels:)`, bit for bit: the caller adds the labels sorted by
/// name (byte order), unique, with no empty value — exactly the labels a
/// `LabelSet` would hold.
public struct LabelHasher {
    @usableFromInline var hash = FNV1a64()

    @inlinable public init() {}

    @inlinable public mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        hash.add(name)
        hash.add(byte: 0xff)
        hash.add(value)
        hash.add(byte: 0xff)
    }

    @inlinable public var fingerprint: Fingerprint { Fingerprint(rawValue: hash.value) }
}
