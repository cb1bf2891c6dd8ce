/// A set of label name/value pairs: the identity of an alert.
///
/// Stored sorted by name (byte order, as Go sorts strings), so equality,
/// hashing and the fingerprint do not depend on the order labels arrived in.
///
/// A label with an empty value is no label: it is dropped on the way in, as
/// Alertmanager drops it from posted alerts, so `{a="1", team=""}` and
/// `{a="1"}` are one label set with one fingerprint. Names and values
/// compare as UTF-8 bytes (Go's string equality), not by Swift's canonical
/// equivalence.
public struct LabelSet: Sendable, Hashable, Sequence, CustomStringConvertible, Codable {
    public struct Label: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }

        public static func == (lhs: Label, rhs: Label) -> Bool {
            lhs.name.utf8.elementsEqual(rhs.name.utf8) && lhs.value.utf8.elementsEqual(rhs.value.utf8)
        }
    }

    /// Sorted by name; names are unique.
    public private(set) var labels: [Label]

    public init() {
        self.labels = []
    }

    /// Builds a label set; when a name repeats, the last value wins; a label
    /// whose (winning) value is empty is left out.
    public init(_ pairs: [(String, String)]) {
        var labels = pairs.map { Label(name: $0.0, value: $0.1) }
        labels.sort { Self.precedes($0.name, $1.name) }
        var unique: [Label] = []
        unique.reserveCapacity(labels.count)
        for label in labels {
            if let last = unique.last, last.name.utf8.elementsEqual(label.name.utf8) {
                unique[unique.count - 1] = label
            } else {
                unique.append(label)
            }
        }
        unique.removeAll { $0.value.isEmpty }
        self.labels = unique
    }

    /// Builds a label set from a dictionary; empty values are left out.
    public init(_ dictionary: [String: String]) {
        self.labels = dictionary.filter { !$0.value.isEmpty }.map { Label(name: $0.key, value: $0.value) }
            .sorted { Self.precedes($0.name, $1.name) }
    }

    /// Encoded as a JSON object of name → value.
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(dictionary)
    }

    public var count: Int { labels.count }
    public var isEmpty: Bool { labels.isEmpty }

    /// A label's value; setting nil or "" removes the label.
    public subscript(name: String) -> String? {
        get { labels.first(where: { $0.name.utf8.elementsEqual(name.utf8) })?.value }
        set {
            let newValue = newValue?.isEmpty == true ? nil : newValue
            if let index = labels.firstIndex(where: { $0.name.utf8.elementsEqual(name.utf8) }) {
                if let newValue {
                    labels[index].value = newValue
                } else {
                    labels.remove(at: index)
                }
            } else if let newValue {
                let index = labels.firstIndex(where: { Self.precedes(name, $0.name) }) ?? labels.endIndex
                labels.insert(Label(name: name, value: newValue), at: index)
            }
        }
    }

    public var dictionary: [String: String] {
        Dictionary(uniqueKeysWithValues: labels.map { ($0.name, $0.value) })
    }

    public func makeIterator() -> IndexingIterator<[Label]> {
        labels.makeIterator()
    }

    /// The fingerprint Alertmanager computes for the same label set.
    public var fingerprint: Fingerprint { Fingerprint(labels: self) }

    /// `{name="value", …}` in Prometheus' notation.
    public var description: String {
        "{" + labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
    }

    /// Byte-wise order of the UTF-8 encodings: the order Go's sort.Strings
    /// gives, which the fingerprint depends on.
    @inlinable
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
