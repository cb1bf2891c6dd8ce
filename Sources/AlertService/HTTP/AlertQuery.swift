import AlertCore
import Hummingbird

/// The query of `GET /alerts` and `/alerts/groups`: Alertmanager's parameters.
struct AlertQuery {
    var filter: [Matcher]
    var active: Bool
    var silenced: Bool
    var inhibited: Bool
    var receiver: ReceiverPattern?

    /// An anchored regex on RE2, as every matcher (linear time: the pattern comes from the caller).
    struct ReceiverPattern {
        let matcher: Matcher
        func matches(_ name: String) -> Bool { matcher.matches(name) }
    }

    init(_ request: Request) throws {
        let parameters = request.uri.queryParameters
        try self.init(filter: parameters.getAll("filter"), flag: { parameters.get($0) }, receiver: parameters.get("receiver"))
    }

    /// The same query from the body of a `<prefix>.api.alerts.list` request
    /// (docs/ARCHITECTURE.md, Control plane): `filter` a list of matcher
    /// strings, the flags booleans or "true"/"false", `receiver` a regex.
    init(body: [String: Any]) throws {
        guard body["filter"] == nil || body["filter"] is [String] else {
            throw APIError(.badRequest, "filter: a list of matcher strings, such as [\"alertname=\\\"x\\\"\"]")
        }
        guard body["receiver"] == nil || body["receiver"] is String else { throw APIError(.badRequest, "receiver: a string (a regex)") }
        try self.init(filter: body["filter"] as? [String] ?? [], flag: { name in
            switch body[name] {
            case nil: nil
            case let value as Bool: value ? "true" : "false"
            case let value as String: value
            default: "\(body[name]!)"
            }
        }, receiver: body["receiver"] as? String)
    }

    /// Alertmanager's parameters: each flag true unless given as false.
    private init(filter texts: [String], flag text: (String) -> String?, receiver: String?) throws {
        filter = try Self.matchers(texts)
        func flag(_ name: String) throws -> Bool {
            guard let text = text(name) else { return true }
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw APIError(.badRequest, "\(name): \"\(text)\" is not true or false")
            }
        }
        active = try flag("active")
        silenced = try flag("silenced")
        inhibited = try flag("inhibited")
        _ = try flag("unprocessed")
        if let receiver {
            do { self.receiver = ReceiverPattern(matcher: try Matcher(name: "receiver", type: .regexMatch, value: receiver)) } catch {
                throw APIError(.badRequest, "receiver: \(error)")
            }
        }
    }

    static func matchers(_ texts: [String]) throws -> [Matcher] {
        var result: [Matcher] = []
        for text in texts {
            do { result += try MatcherParser.parseMatchers(text) } catch {
                throw APIError(.badRequest, "filter: \(error)")
            }
        }
        return result
    }
}
