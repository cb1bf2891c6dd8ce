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
        filter = try Self.matchers(parameters.getAll("filter"))
        func flag(_ name: String) throws -> Bool {
            guard let text = parameters.get(name) else { return true }
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
        if let text = parameters.get("receiver") {
            do { receiver = ReceiverPattern(matcher: try Matcher(name: "receiver", type: .regexMatch, value: text)) } catch {
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
