import AlertCore
import Foundation
import Hummingbird

/// A silence as `GET /api/v2/silences` and `/silence/{id}` show it
/// (Alertmanager's `gettableSilence`). Times are `APIJSON.timestamp` strings.
struct GettableSilence: ResponseEncodable {
    var id: String
    var matchers: [SilenceMatcher]
    var startsAt: String
    var endsAt: String
    var createdBy: String
    var comment: String
    var updatedAt: String
    var status: SilenceStatus

    /// - Parameter now: the instant the silence's state (pending, active, expired) is taken at.
    init(_ silence: Silence, now: Date) {
        id = silence.id
        matchers = silence.matchers.map(SilenceMatcher.init)
        startsAt = APIJSON.timestamp(silence.startsAt)
        endsAt = APIJSON.timestamp(silence.endsAt)
        createdBy = silence.createdBy
        comment = silence.comment
        updatedAt = APIJSON.timestamp(silence.updatedAt)
        status = SilenceStatus(state: silence.state(at: now).rawValue)
    }
}

/// A matcher as Alertmanager's API writes it: two flags instead of an operator.
struct SilenceMatcher: Encodable {
    var name: String
    var value: String
    var isRegex: Bool
    var isEqual: Bool

    init(_ matcher: Matcher) {
        name = matcher.name
        value = matcher.value
        isRegex = matcher.type.isRegex
        isEqual = !matcher.type.isNegative
    }
}

/// A silence's state at the time of the request: `pending`, `active` or `expired`.
struct SilenceStatus: Encodable {
    var state: String
}
