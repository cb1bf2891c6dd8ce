/// One label matcher, as Alertmanager writes it: `name="value"`,
/// `name!="value"`, `name=~"regex"`, `name!~"regex"`.
///
/// Regular expressions are anchored at both ends (`^(?:re)$`) and run on
/// RE2 (Go's syntax, linear-time matching), as in Alertmanager. `=` and `!=`
/// compare the UTF-8 bytes, as Go compares strings: "é" precomposed and
/// "e" + combining accent are different values, though Swift's `==` calls
/// them equal. A label that is absent matches as the empty string, so
/// `team=""` matches alerts without a `team` label and `team!=""` requires one.
public struct Matcher: Sendable, Hashable, CustomStringConvertible, Codable {
    public enum MatchType: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regexMatch = "=~"
        case regexNoMatch = "!~"

        public var isRegex: Bool { self == .regexMatch || self == .regexNoMatch }
        public var isNegative: Bool { self == .notEqual || self == .regexNoMatch }
    }

    public let name: String
    public let type: MatchType
    public let value: String
    private let regex: AnchoredRegex?

    public init(name: String, type: MatchType, value: String) throws(MatcherError) {
        guard !name.isEmpty else { throw MatcherError("matcher has an empty label name") }
        self.name = name
        self.type = type
        self.value = value
        if type.isRegex {
            self.regex = try AnchoredRegex(value)
        } else {
            self.regex = nil
        }
    }

    /// Whether the value (empty when the label is absent) satisfies the matcher.
    public func matches(_ labelValue: String) -> Bool {
        switch type {
        case .equal: labelValue.utf8.elementsEqual(value.utf8)
        case .notEqual: !labelValue.utf8.elementsEqual(value.utf8)
        case .regexMatch: regex!.matches(labelValue)
        case .regexNoMatch: !regex!.matches(labelValue)
        }
    }

    public func matches(_ labels: LabelSet) -> Bool {
        matches(labels[name] ?? "")
    }

    /// `name="value"` with the value quoted and escaped, as Alertmanager
    /// prints it (`Matcher.String()`): a name holding a character the
    /// classic syntax reserves (space, `{}!=~,\"'` and backquote) is quoted
    /// too, both then as Go's `%q`.
    public var description: String {
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || "{}!=~,\\\"'`".unicodeScalars.contains($0) }) {
            return GoQuote.quote(name) + type.rawValue + GoQuote.quote(value)
        }
        return "\(name)\(type.rawValue)\(Self.quote(value))"
    }

    /// Alertmanager's matcher order (`Matchers.Less`): by name, then value
    /// (bytes), then type (`=`, `!=`, `=~`, `!~`).
    public static func alertmanagerOrder(_ a: Matcher, _ b: Matcher) -> Bool {
        if !a.name.utf8.elementsEqual(b.name.utf8) { return a.name.utf8.lexicographicallyPrecedes(b.name.utf8) }
        if !a.value.utf8.elementsEqual(b.value.utf8) { return a.value.utf8.lexicographicallyPrecedes(b.value.utf8) }
        return MatchType.allCases.firstIndex(of: a.type)! < MatchType.allCases.firstIndex(of: b.type)!
    }

    static func quote(_ value: String) -> String {
        var result = "\""
        for character in value {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result + "\""
    }

    private enum CodingKeys: String, CodingKey { case name, type, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        let typeText = try container.decode(String.self, forKey: .type)
        guard let type = MatchType(rawValue: typeText) else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown match type \(typeText)")
        }
        do {
            try self.init(name: name, type: type, value: try container.decode(String.self, forKey: .value))
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(type.rawValue, forKey: .type)
        try container.encode(value, forKey: .value)
    }

    public static func == (lhs: Matcher, rhs: Matcher) -> Bool {
        lhs.name.utf8.elementsEqual(rhs.name.utf8) && lhs.type == rhs.type && lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(type)
        hasher.combine(value)
    }
}

/// A matcher that could not be built or parsed, with what was wrong.
public struct MatcherError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A regular expression anchored at both ends, compiled once by RE2 from
/// `^(?:pattern)$`, the string Alertmanager gives Go's `regexp.Compile`.
struct AnchoredRegex: Sendable {
    private let regex: RE2Regex

    init(_ pattern: String) throws(MatcherError) {
        do {
            regex = try RE2Regex("^(?:" + pattern + ")$")
        } catch {
            throw MatcherError("invalid regular expression \(Matcher.quote(pattern)): \(error)")
        }
    }

    func matches(_ value: String) -> Bool {
        regex.fullMatch(value)
    }
}

/// A conjunction of matchers: all must match.
public struct Matchers: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var matchers: [Matcher]

    public init(_ matchers: [Matcher]) {
        self.matchers = matchers
    }

    public init(arrayLiteral elements: Matcher...) {
        self.matchers = elements
    }

    public var isEmpty: Bool { matchers.isEmpty }

    public func matches(_ labels: LabelSet) -> Bool {
        matchers.allSatisfy { $0.matches(labels) }
    }

    /// `{a="b", c=~"d"}`.
    public var description: String {
        "{" + matchers.map(\.description).joined(separator: ", ") + "}"
    }

    /// Alertmanager's `Matchers.String()` of the sorted matchers:
    /// `{a="b",c=~"d"}`, the part of a route key each route adds.
    public var routeKeyComponent: String {
        "{" + matchers.sorted(by: Matcher.alertmanagerOrder).map(\.description).joined(separator: ",") + "}"
    }
}
