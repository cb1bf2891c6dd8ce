/// Parses Alertmanager's matcher syntax, as used in `matchers:` of routes and
/// inhibit rules, in silences and on amtool's command line:
///
/// - one matcher: `severity="critical"`, `team!=ops`, `job=~"api|web"`;
/// - a list: `{alertname="Watchdog", severity=~"warn|crit"}` or the same
///   without braces, separated by commas.
///
/// Values may be unquoted (up to the next comma) or double-quoted with
/// `\"`, `\\` and `\n` escapes (any other backslash is kept). Label names follow Prometheus' rule
/// (`[a-zA-Z_][a-zA-Z0-9_]*`); as in Alertmanager, a name may also be
/// double-quoted to carry any UTF-8.
public enum MatcherParser {
    public static func parseMatcher(_ text: String) throws(MatcherError) -> Matcher {
        var scanner = Scanner(text)
        scanner.skipSpaces()
        let matcher = try scanner.matcher()
        scanner.skipSpaces()
        guard scanner.isAtEnd else {
            throw MatcherError("unexpected \(scanner.rest.prefix(20).debugDescription) after matcher in \(text.debugDescription)")
        }
        return matcher
    }

    public static func parseMatchers(_ text: String) throws(MatcherError) -> [Matcher] {
        var scanner = Scanner(text)
        scanner.skipSpaces()
        let braced = scanner.consume("{")
        var result: [Matcher] = []
        scanner.skipSpaces()
        while !scanner.isAtEnd && !(braced && scanner.peek == "}") {
            result.append(try scanner.matcher())
            scanner.skipSpaces()
            if scanner.consume(",") {
                scanner.skipSpaces()
                continue
            }
            break
        }
        if braced {
            guard scanner.consume("}") else { throw MatcherError("missing closing \"}\" in \(text.debugDescription)") }
            scanner.skipSpaces()
        }
        guard scanner.isAtEnd else {
            throw MatcherError("unexpected \(scanner.rest.prefix(20).debugDescription) in \(text.debugDescription)")
        }
        return result
    }

    private struct Scanner {
        let characters: [Character]
        var index = 0

        init(_ text: String) { characters = Array(text) }

        var isAtEnd: Bool { index >= characters.count }
        var peek: Character? { isAtEnd ? nil : characters[index] }
        var rest: String { String(characters[index...]) }

        mutating func skipSpaces() {
            while let c = peek, c.isWhitespace { index += 1 }
        }

        mutating func consume(_ literal: String) -> Bool {
            let chars = Array(literal)
            guard index + chars.count <= characters.count, Array(characters[index..<index + chars.count]) == chars else { return false }
            index += chars.count
            return true
        }

        mutating func matcher() throws(MatcherError) -> Matcher {
            let name: String
            if peek == "\"" {
                name = try quoted()
            } else {
                var text = ""
                while let c = peek, c.isASCII, c.isLetter || c.isNumber || c == "_" || c == ":" {
                    text.append(c)
                    index += 1
                }
                guard let first = text.first, !first.isNumber else {
                    throw MatcherError("expected a label name at \(rest.prefix(20).debugDescription)")
                }
                name = text
            }
            skipSpaces()
            let type: Matcher.MatchType
            if consume("=~") { type = .regexMatch }
            else if consume("!~") { type = .regexNoMatch }
            else if consume("!=") { type = .notEqual }
            else if consume("=") { type = .equal }
            else { throw MatcherError("expected one of =, !=, =~, !~ after \(name.debugDescription)") }
            skipSpaces()
            let value: String
            if peek == "\"" {
                value = try quoted()
            } else {
                var text = ""
                while let c = peek, c != ",", c != "}" {
                    text.append(c)
                    index += 1
                }
                value = String(text.reversed().drop(while: { $0.isWhitespace }).reversed())
                if value.contains("\"") {
                    throw MatcherError("unquoted value \(value.debugDescription) contains a double quote")
                }
            }
            return try Matcher(name: name, type: type, value: value)
        }

        mutating func quoted() throws(MatcherError) -> String {
            index += 1  // opening quote
            var text = ""
            while let c = peek {
                index += 1
                switch c {
                case "\"":
                    return text
                case "\\":
                    guard let escaped = peek else { break }
                    index += 1
                    switch escaped {
                    case "n": text.append("\n")
                    case "\\", "\"": text.append(escaped)
                    // Any other escape is kept as written (`\t` stays a
                    // backslash and a t), as Alertmanager's parser does.
                    default: text.append("\\"); text.append(escaped)
                    }
                default:
                    text.append(c)
                }
            }
            throw MatcherError("unterminated quoted string")
        }
    }
}
