import AlertCore
import Foundation
import Hummingbird
import NIOCore

/// JSON in Alertmanager's API v2 shapes (its OpenAPI spec), so amtool and
/// other Alertmanager clients read nats-alerter's answers.
enum APIJSON {
    static func timestamp(_ date: Date) -> String {
        date.rfc3339Milliseconds
    }

    /// An RFC 3339 time, or nil (checked before Foundation parses it: `Date(rfc3339:)`).
    static func parseTimestamp(_ text: String) -> Date? {
        Date(rfc3339: text)
    }

    static func alert(_ alert: Alert, receivers: [String], silencedBy: [String], inhibitedBy: [Fingerprint], endsAt: Date) -> [String: Any] {
        var object: [String: Any] = [
            "annotations": alert.annotations,
            "endsAt": timestamp(endsAt),
            "fingerprint": alert.fingerprint.description,
            "receivers": receivers.map { ["name": $0] },
            "startsAt": timestamp(alert.startsAt),
            "status": [
                "inhibitedBy": inhibitedBy.map(\.description),
                "silencedBy": silencedBy,
                "state": silencedBy.isEmpty && inhibitedBy.isEmpty ? "active" : "suppressed",
            ] as [String: Any],
            "updatedAt": timestamp(alert.lastSeen),
            "labels": alert.labels.dictionary,
        ]
        if !alert.generatorURL.isEmpty { object["generatorURL"] = alert.generatorURL }
        return object
    }

    static func silence(_ silence: Silence, now: Date) -> [String: Any] {
        [
            "id": silence.id,
            "matchers": silence.matchers.map { matcher -> [String: Any] in
                ["name": matcher.name, "value": matcher.value, "isRegex": matcher.type.isRegex, "isEqual": !matcher.type.isNegative]
            },
            "startsAt": timestamp(silence.startsAt),
            "endsAt": timestamp(silence.endsAt),
            "createdBy": silence.createdBy,
            "comment": silence.comment,
            "updatedAt": timestamp(silence.updatedAt),
            "status": ["state": silence.state(at: now).rawValue],
        ]
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

    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])) ?? Data("null".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
