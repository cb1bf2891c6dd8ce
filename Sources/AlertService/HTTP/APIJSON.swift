import AlertCore
import Foundation

/// What the API reads and writes in Alertmanager's API v2 formats (its
/// OpenAPI spec) besides the response types: its times, and the postable
/// silence of `POST /api/v2/silences`, parsed with an error that says what is
/// wrong.
enum APIJSON {
    static func timestamp(_ date: Date) -> String {
        date.rfc3339Milliseconds
    }

    /// An RFC 3339 time, or nil (checked before Foundation parses it: `Date(rfc3339:)`).
    static func parseTimestamp(_ text: String) -> Date? {
        Date(rfc3339: text)
    }

    /// A postable silence, or what is wrong with it.
    static func postableSilence(_ data: Data, limits: AlerterConfig.APILimits = .init()) throws(APIError) -> Silence {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw APIError(.badRequest, "the body is not a JSON object (a postable silence)")
        }
        guard let matcherObjects = object["matchers"] as? [[String: Any]] else {
            throw APIError(.badRequest, "matchers: required, a list of {name, value, isRegex, isEqual}")
        }
        if limits.maxMatchersPerSilence > 0 && matcherObjects.count > limits.maxMatchersPerSilence {
            throw APIError(.badRequest, "matchers: \(matcherObjects.count) matchers (limit: \(limits.maxMatchersPerSilence) per silence, server.limits.max_matchers_per_silence)")
        }
        if limits.maxCommentBytes > 0, let comment = object["comment"] as? String, comment.utf8.count > limits.maxCommentBytes {
            throw APIError(.badRequest, "comment: \(comment.utf8.count) bytes (limit: \(limits.maxCommentBytes), server.limits.max_comment_bytes)")
        }
        var matchers: [Matcher] = []
        for (index, item) in matcherObjects.enumerated() {
            guard let name = item["name"] as? String, let value = item["value"] as? String, let isRegex = item["isRegex"] as? Bool else {
                throw APIError(.badRequest, "matchers[\(index)]: name, value and isRegex are required")
            }
            let isEqual = item["isEqual"] as? Bool ?? true
            let type: Matcher.MatchType = isRegex ? (isEqual ? .regexMatch : .regexNoMatch) : (isEqual ? .equal : .notEqual)
            do {
                matchers.append(try Matcher(name: name, type: type, value: value))
            } catch {
                throw APIError(.badRequest, "matchers[\(index)]: \(error)")
            }
        }
        guard let starts = (object["startsAt"] as? String).flatMap(parseTimestamp) else {
            throw APIError(.badRequest, "startsAt: required, an RFC 3339 time")
        }
        guard let ends = (object["endsAt"] as? String).flatMap(parseTimestamp) else {
            throw APIError(.badRequest, "endsAt: required, an RFC 3339 time")
        }
        guard let createdBy = object["createdBy"] as? String else { throw APIError(.badRequest, "createdBy: required") }
        guard let comment = object["comment"] as? String else { throw APIError(.badRequest, "comment: required") }
        let silence = Silence(id: object["id"] as? String ?? "", matchers: matchers, startsAt: starts, endsAt: ends,
                              createdBy: createdBy, comment: comment)
        let size = silenceSize(silence)
        if limits.maxSilenceSizeBytes > 0 && size > limits.maxSilenceSizeBytes {
            throw APIError(.badRequest, "silence exceeded maximum size: \(size) bytes (limit: \(limits.maxSilenceSizeBytes) bytes, server.limits.max_silence_size_bytes)")
        }
        return silence
    }

    /// A silence's size as `server.limits.max_silence_size_bytes` counts it:
    /// the UTF-8 bytes of its id, matcher names and values, `createdBy` and comment.
    static func silenceSize(_ silence: Silence) -> Int {
        silence.id.utf8.count + silence.createdBy.utf8.count + silence.comment.utf8.count
            + silence.matchers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
    }
}

