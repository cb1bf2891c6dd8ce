/// An alert's annotations, packed into one byte buffer (docs/ARCHITECTURE.md,
/// Memory per alert): a `[String: String]` of two entries costs its hash
/// table plus one heap object per string longer than 15 bytes (about 380
/// bytes for a summary and a runbook URL); this is one allocation the size
/// of the text.
///
/// Layout: the entry count, then per entry the name's UTF-8 byte count, the
/// name, the value's byte count and the value; counts as LEB128 varints,
/// entries sorted by name (byte order), names unique. That is also the
/// annotations section of a binary alert record (`StateRecordFormat`), so
/// writing and reading a record copies it as it is. No annotations is an
/// empty buffer (no allocation).
///
/// It behaves as the `[String: String]` it replaces: names and values are
/// Swift strings, so lookup, equality and hashing follow `String` (Unicode
/// canonical equivalence); only iteration is ordered (by name bytes, where a
/// dictionary's order was arbitrary).
public struct Annotations: Sendable, Hashable, Sequence, Codable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public typealias Element = (key: String, value: String)

    /// The packed layout above.
    public private(set) var bytes: [UInt8]

    public init() {
        bytes = []
    }

    /// The annotations of `dictionary`.
    public init(_ dictionary: [String: String]) {
        guard !dictionary.isEmpty else {
            self.init()
            return
        }
        // A dictionary's names are unique under canonical equivalence, so
        // unique as bytes too.
        let sorted = dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        self.init(sortedUniquePairs: sorted)
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { $1 }))
    }

    /// Packs pairs already sorted by name bytes with unique names.
    private init(sortedUniquePairs pairs: [(key: String, value: String)]) {
        var size = Self.varintSize(pairs.count)
        for (name, value) in pairs {
            size += Self.varintSize(name.utf8.count) + name.utf8.count + Self.varintSize(value.utf8.count) + value.utf8.count
        }
        bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var offset = Self.writeVarint(pairs.count, to: buffer, at: 0)
            for (name, value) in pairs {
                offset = Self.writeString(name, to: buffer, at: offset)
                offset = Self.writeString(value, to: buffer, at: offset)
            }
            precondition(offset == size)
            initialized = size
        }
    }

    /// Takes a record's annotations section (at the start of `record`) as it
    /// is, with the number of bytes it spans, when it is exactly what
    /// `init(_:)` packs from the same pairs: minimal varints, valid UTF-8,
    /// names ASCII (so no two are canonically equivalent) and strictly
    /// increasing. Nil otherwise: the caller reads it as a dictionary.
    static func packed(fromRecord record: UnsafeRawBufferPointer) -> (annotations: Annotations, length: Int)? {
        var reader = PackedReader(record)
        guard let count = reader.varint() else { return nil }
        var previous: UnsafeRawBufferPointer?
        for _ in 0..<count {
            guard let name = reader.string(), let value = reader.string(),
                  !name.contains(where: { $0 >= 0x80 }), isValidUTF8(value) else { return nil }
            if let previous, !previous.lexicographicallyPrecedes(name) { return nil }
            previous = name
        }
        var annotations = Annotations()
        if count > 0 { annotations.bytes = [UInt8](UnsafeRawBufferPointer(rebasing: record[0..<reader.offset])) }
        return (annotations, reader.offset)
    }

    public var count: Int {
        guard !bytes.isEmpty else { return 0 }
        return bytes.withUnsafeBytes { raw in
            var reader = PackedReader(raw)
            return reader.varint() ?? 0
        }
    }

    public var isEmpty: Bool { bytes.isEmpty }

    /// A name's value (found as `[String: String]` finds it); setting nil
    /// removes the annotation.
    public subscript(name: String) -> String? {
        get {
            guard !bytes.isEmpty else { return nil }
            var name = name
            let found: String?? = name.withUTF8 { query in
                bytes.withUnsafeBytes { raw in
                    var reader = PackedReader(raw)
                    let count = reader.varint()!
                    var ascii = !query.contains { $0 >= 0x80 }
                    for _ in 0..<count {
                        let entryName = reader.string()!, value = reader.string()!
                        if entryName.elementsEqual(query) { return .some(Self.text(value)) }
                        if ascii && entryName.contains(where: { $0 >= 0x80 }) { ascii = false }
                    }
                    // Byte-distinct strings are canonically equivalent only
                    // if one of them is not ASCII.
                    return ascii ? .some(nil) : nil
                }
            }
            if let found { return found }
            return first { $0.key == name }?.value
        }
        set {
            var dictionary = self.dictionary
            dictionary[name] = newValue
            self = Annotations(dictionary)
        }
    }

    /// The annotations as a dictionary (for JSON, templates and logs).
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        result.reserveCapacity(count)
        for (name, value) in self { result[name] = value }
        return result
    }

    /// Whether these are the annotations of `dictionary` (`==` of the two as
    /// dictionaries), without packing it: compares bytes first, and strings
    /// only where they differ.
    public func equals(_ dictionary: [String: String]) -> Bool {
        guard count == dictionary.count else { return false }
        for (name, value) in self {
            guard let other = dictionary[name] else { return false }
            if other.utf8.elementsEqual(value.utf8) { continue }
            if other != value { return false }
        }
        return true
    }

    /// Whether `body` holds for every entry's name and value bytes, in name
    /// order, with no allocation (the duplicate fast path's check).
    public func allEntries(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) -> Bool {
        guard !bytes.isEmpty else { return true }
        return bytes.withUnsafeBytes { raw in
            var reader = PackedReader(raw)
            let count = reader.varint()!
            for _ in 0..<count {
                let name = reader.string()!, value = reader.string()!
                if !body(name, value) { return false }
            }
            return true
        }
    }

    public static func == (lhs: Annotations, rhs: Annotations) -> Bool {
        if lhs.bytes == rhs.bytes { return true }
        return lhs.equals(rhs.dictionary)
    }

    /// Order-independent over the entries, with `String` hashing, as
    /// `Dictionary` hashes: consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        var commutative = 0
        for (name, value) in self {
            var entry = Hasher()
            entry.combine(name)
            entry.combine(value)
            commutative ^= entry.finalize()
        }
        hasher.combine(count)
        hasher.combine(commutative)
    }

    /// Encoded as a JSON object of name → value (as the dictionary was).
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(dictionary)
    }

    public var description: String { dictionary.description }

    public struct Iterator: IteratorProtocol {
        private let bytes: [UInt8]
        private var offset: Int
        private var remaining: Int

        fileprivate init(_ bytes: [UInt8]) {
            self.bytes = bytes
            guard !bytes.isEmpty else {
                offset = 0
                remaining = 0
                return
            }
            var remaining = 0
            offset = bytes.withUnsafeBytes { raw in
                var reader = PackedReader(raw)
                remaining = reader.varint()!
                return reader.offset
            }
            self.remaining = remaining
        }

        public mutating func next() -> Element? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            let (element, end) = bytes.withUnsafeBytes { raw in
                var reader = PackedReader(raw, offset: offset)
                let name = reader.string()!, value = reader.string()!
                return ((key: Annotations.text(name), value: Annotations.text(value)), reader.offset)
            }
            offset = end
            return element
        }
    }

    public func makeIterator() -> Iterator { Iterator(bytes) }

    // MARK: Packing

    private static func text(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    private static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if !bytes.contains(where: { $0 >= 0x80 }) { return true }
        return String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) != nil
    }

    private static func varintSize(_ value: Int) -> Int {
        var value = UInt(value), size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    private static func writeVarint(_ value: Int, to buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        var value = UInt(value), offset = offset
        while value >= 0x80 {
            buffer[offset] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            offset += 1
        }
        buffer[offset] = UInt8(value)
        return offset + 1
    }

    private static func writeString(_ string: String, to buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        var string = string
        return string.withUTF8 { utf8 in
            let start = writeVarint(utf8.count, to: buffer, at: offset)
            if utf8.count > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress! + start).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count)
            }
            return start + utf8.count
        }
    }
}

/// Reads the packed layout: varints and length-prefixed byte ranges, nil
/// past the end or on a malformed varint.
private struct PackedReader {
    let base: UnsafeRawBufferPointer
    var offset: Int

    init(_ base: UnsafeRawBufferPointer, offset: Int = 0) {
        self.base = base
        self.offset = offset
    }

    var isAtEnd: Bool { offset == base.count }

    /// A minimal LEB128 varint below 2^56 (nothing longer packs text).
    mutating func varint() -> Int? {
        var result = 0, shift = 0
        while offset < base.count, shift < 56 {
            let byte = base[offset]
            offset += 1
            result |= Int(byte & 0x7f) << shift
            if byte < 0x80 { return byte == 0 && shift > 0 ? nil : result }
            shift += 7
        }
        return nil
    }

    mutating func string() -> UnsafeRawBufferPointer? {
        guard let length = varint(), length <= base.count - offset else { return nil }
        defer { offset += length }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + length])
    }
}
