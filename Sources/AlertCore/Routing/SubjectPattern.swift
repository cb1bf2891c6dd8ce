/// A NATS subject pattern: tokens separated by `.`, where `*` matches exactly
/// one token and a final `>` matches one or more remaining tokens — the
/// rules NATS itself uses for subscriptions.
public struct SubjectPattern: Sendable, Hashable, CustomStringConvertible {
    private let tokens: [Substring]
    public let description: String

    public init(_ pattern: String) {
        self.description = pattern
        self.tokens = pattern.split(separator: ".", omittingEmptySubsequences: false)
    }

    public func matches(_ subject: String) -> Bool {
        let parts = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (index, token) in tokens.enumerated() {
            if token == ">" { return parts.count > index }
            guard index < parts.count else { return false }
            if token != "*" && token != parts[index] { return false }
        }
        return parts.count == tokens.count
    }
}
