public import Foundation

/// Where a silence stands at a given time.
public enum SilenceState: String, Sendable {
    /// Not yet started: `now < startsAt`.
    case pending
    /// Muting matching alerts: `startsAt <= now < endsAt`.
    case active
    /// Over: `now >= endsAt`. Kept for history until garbage collection.
    case expired
}

/// An operator's instruction to mute alerts whose labels match, for a time
/// window: Alertmanager's silence.
///
/// A value type with no behaviour over time of its own; `Silencer` stores
/// silences, assigns ids and enforces the rules for creating, updating and
/// expiring them.
public struct Silence: Sendable, Equatable, Identifiable, Codable {
    /// A lowercased UUID, assigned by `Silencer`; empty for a silence not yet created.
    public var id: String
    /// All must match an alert's labels for the silence to mute it.
    public var matchers: [Matcher]
    public var startsAt: Date
    public var endsAt: Date
    public var createdBy: String
    public var comment: String
    /// When the silence was last created, updated or expired; set by `Silencer`.
    public var updatedAt: Date

    public init(
        id: String = "",
        matchers: [Matcher],
        startsAt: Date,
        endsAt: Date,
        createdBy: String,
        comment: String,
        updatedAt: Date = .distantPast
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.updatedAt = updatedAt
    }

    /// Expired from `endsAt` on, pending before `startsAt`, active in between.
    public func state(at now: Date) -> SilenceState {
        if now >= endsAt { return .expired }
        if now < startsAt { return .pending }
        return .active
    }

    /// Whether every matcher matches `labels` (an absent label matches as ""),
    /// whatever the silence's state.
    public func matches(_ labels: LabelSet) -> Bool {
        matchers.allSatisfy { $0.matches(labels) }
    }

    /// The checks Alertmanager applies to every silence it is asked to store.
    ///
    /// A negative matcher (`!=`, `!~`) never counts as matching the empty
    /// string here, as in Alertmanager's `matchesEmpty`, so `{env!="prod"}`
    /// is a valid silence on its own.
    func validate() throws(SilenceError) {
        guard !matchers.isEmpty else {
            throw .invalid("silence has no matchers; at least one matcher is required")
        }
        if matchers.allSatisfy(\.matchesEmptyForValidation) {
            throw .invalid("at least one matcher must not match the empty string: \(Matchers(matchers))")
        }
        guard endsAt > startsAt else {
            throw .invalid("end time \(Self.format(endsAt)) must be after start time \(Self.format(startsAt))")
        }
        guard !createdBy.isEmpty else {
            throw .invalid("createdBy is required")
        }
        guard !comment.isEmpty else {
            throw .invalid("comment is required")
        }
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

extension Matcher {
    /// Alertmanager's `matchesEmpty`: only `=` and `=~` are tested against "".
    fileprivate var matchesEmptyForValidation: Bool {
        switch type {
        case .equal, .regexMatch: matches("")
        case .notEqual, .regexNoMatch: false
        }
    }
}

/// A silence operation that was refused, and why.
public struct SilenceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The silence breaks a validation rule (Alertmanager's 400).
        case invalid
        /// No silence has the id (Alertmanager's 404).
        case notFound
        /// Expire was asked of a silence that had already expired.
        case alreadyExpired
        /// The service is shutting down and its state is written: nothing
        /// more can be stored (HTTP 503).
        case unavailable
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    static func invalid(_ description: String) -> SilenceError {
        SilenceError(.invalid, "invalid silence: " + description)
    }

    static func notFound(_ id: String) -> SilenceError {
        SilenceError(.notFound, "silence \(id) not found")
    }

    static let unavailable = SilenceError(.unavailable, "the service is shutting down; silences can no longer be changed here")

    static func alreadyExpired(_ id: String) -> SilenceError {
        SilenceError(.alreadyExpired, "silence \(id) already expired")
    }
}
