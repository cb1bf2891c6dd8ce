import struct Foundation.Date

/// Appends the primitives of the binary state record layout
/// (docs/ARCHITECTURE.md, Durability): LEB128 varints, zigzag for signed
/// integers, IEEE 754 bit patterns little-endian for doubles and dates (so
/// every value, NaN and infinities included, comes back bit for bit), and
/// strings as a varint byte count followed by their UTF-8.
struct StateRecordWriter {
    private(set) var bytes: [UInt8]

    init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func count(_ value: Int) {
        varint(UInt64(value))
    }

    mutating func signed(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func double(_ value: Double) {
        fixed64(value.bitPattern)
    }

    mutating func date(_ value: Date) {
        double(value.timeIntervalSinceReferenceDate)
    }

    /// Bytes already in the layout (a packed section, `Annotations`).
    mutating func raw(_ value: [UInt8]) {
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            count(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }
}

/// Reads what `StateRecordWriter` wrote. Total: every read checks the bytes
/// left first, counts are checked against the bytes left before anything is
/// allocated for them, and strings must be valid UTF-8, so any truncated or
/// garbled input ends in a `StateRecordError`, never a trap.
struct StateRecordReader {
    private let base: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ base: UnsafeRawBufferPointer, offset: Int = 0) {
        self.base = base
        self.offset = offset
    }

    var remaining: Int { base.count - offset }
    var isAtEnd: Bool { offset == base.count }

    private func truncated(_ what: String) -> StateRecordError {
        StateRecordError("truncated: \(what) at byte \(offset) of \(base.count)")
    }

    mutating func byte(_ what: String) throws(StateRecordError) -> UInt8 {
        guard offset < base.count else { throw truncated(what) }
        defer { offset += 1 }
        return base[offset]
    }

    mutating func varint(_ what: String) throws(StateRecordError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < base.count else { throw truncated(what) }
            let byte = base[offset]
            offset += 1
            // The tenth byte may only carry the top bit of a 64-bit value.
            if shift == 63 && byte > 1 { throw StateRecordError("\(what): varint longer than 64 bits at byte \(offset - 1)") }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// A count of items that take at least `minimumSize` bytes each: never
    /// more than the bytes left could hold.
    mutating func count(_ what: String, minimumSize: Int = 1) throws(StateRecordError) -> Int {
        let start = offset
        let value = try varint(what)
        guard value <= UInt64(remaining / max(1, minimumSize)) else {
            throw StateRecordError("\(what): count \(value) at byte \(start) exceeds the \(remaining) bytes left")
        }
        return Int(value)
    }

    mutating func int(_ what: String) throws(StateRecordError) -> Int {
        let start = offset
        let value = try signed(what)
        guard let result = Int(exactly: value) else { throw StateRecordError("\(what): \(value) at byte \(start) out of range") }
        return result
    }

    mutating func signed(_ what: String) throws(StateRecordError) -> Int64 {
        let raw = try varint(what)
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    mutating func fixed64(_ what: String) throws(StateRecordError) -> UInt64 {
        guard remaining >= 8 else { throw truncated(what) }
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: base[offset..<offset + 8])) }
        offset += 8
        return UInt64(littleEndian: value)
    }

    mutating func double(_ what: String) throws(StateRecordError) -> Double {
        Double(bitPattern: try fixed64(what))
    }

    mutating func date(_ what: String) throws(StateRecordError) -> Date {
        Date(timeIntervalSinceReferenceDate: try double(what))
    }

    /// The annotations section taken as it is when it is in `Annotations`'
    /// packed form (`Annotations.packed(fromRecord:)`); nil (nothing read)
    /// when it must be read pair by pair.
    mutating func packedAnnotations() -> Annotations? {
        guard let packed = Annotations.packed(fromRecord: UnsafeRawBufferPointer(rebasing: base[offset...])) else { return nil }
        offset += packed.length
        return packed.annotations
    }

    mutating func string(_ what: String) throws(StateRecordError) -> String {
        let length = try count(what)
        let start = offset
        let slice = UnsafeRawBufferPointer(rebasing: base[start..<start + length])
        guard let value = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw StateRecordError("\(what): invalid UTF-8 at byte \(start)")
        }
        offset += length
        return value
    }
}
