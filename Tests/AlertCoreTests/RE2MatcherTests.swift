import AlertCore
import Foundation
import PropertyBased
import Testing

/// Regex matchers run on RE2: Go's syntax (what Alertmanager accepts) and
/// linear-time matching, whatever pattern an API user posts.
@Suite("Matchers on RE2: Go's syntax, linear time, byte equality")
struct RE2MatcherTests {
    @Test("a catastrophic pattern (a+)+b against 40 a's answers at once (a backtracking engine takes 2^40 steps)")
    func catastrophicPatternIsLinear() throws {
        let matcher = try Matcher(name: "victim", type: .regexMatch, value: "(a+)+b")
        let value = String(repeating: "a", count: 40)
        let clock = ContinuousClock()
        let started = clock.now
        var matched = false
        for _ in 0..<1000 { matched = matched || matcher.matches(value) }
        #expect(!matched)
        #expect(matcher.matches(value + "b"))
        #expect(clock.now - started < .seconds(1))
    }

    @Test("syntax Go's regexp refuses is refused, with Go's message naming the offending fragment", arguments: [
        ("(?=a)b", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?!a)b", "invalid or unsupported Perl syntax: `(?!`"),
        ("(?<=a)b", "invalid or unsupported Perl syntax: `(?<`"),
        ("(a)\\1", "invalid escape sequence: `\\1`"),
        ("a\\C", "invalid escape sequence: `\\C`"),
        ("(a", "missing closing ): `^(?:(a)$`"),
        ("[a", "missing closing ]: `[a)$`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("\\pX", "invalid character class range: `\\pX`"),
    ])
    func goRefuses(pattern: String, message: String) {
        #expect {
            try Matcher(name: "a", type: .regexMatch, value: pattern)
        } throws: { error in
            "\(error)".contains("error parsing regexp: " + message)
        }
    }

    @Test("Go syntax that Swift's Regex lacks or reads otherwise is accepted", arguments: [
        "\\Qa.b\\E", "(?i)abc", "\\pL+", "\\p{Greek}", "[[:alpha:]]+", "(?P<name>x)", "x{2,3}?", "\\x{1F600}", "(?U)a+",
    ])
    func goAccepts(pattern: String) throws {
        _ = try Matcher(name: "a", type: .regexMatch, value: pattern)
    }

    @Test("classes and . are Go's: \\d is ASCII only, . is one code point, not one grapheme")
    func goClassSemantics() throws {
        let digits = try Matcher(name: "a", type: .regexMatch, value: "\\d+")
        #expect(digits.matches("123"))
        #expect(!digits.matches("\u{0663}"))  // ARABIC-INDIC DIGIT THREE: a digit to Swift, not to Go
        let word = try Matcher(name: "a", type: .regexMatch, value: "\\w+")
        #expect(!word.matches("é"))
        let one = try Matcher(name: "a", type: .regexMatch, value: ".")
        #expect(one.matches("\u{E9}"))
        #expect(!one.matches("e\u{301}"))  // two code points, one grapheme
        let flag = try Matcher(name: "a", type: .regexMatch, value: "🇫🇷")
        #expect(!flag.matches("🇫"))
    }

    @Test("= and != compare bytes: a precomposed é is not an e with a combining accent")
    func equalityIsByteEquality() throws {
        let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let equal = try Matcher(name: "a", type: .equal, value: precomposed)
        #expect(equal.matches(precomposed))
        #expect(!equal.matches(decomposed))
        let notEqual = try Matcher(name: "a", type: .notEqual, value: precomposed)
        #expect(notEqual.matches(decomposed))
        #expect(try Matcher(name: "a", type: .equal, value: precomposed) != Matcher(name: "a", type: .equal, value: decomposed))
    }

    @Test("inhibit equal: labels that differ only in normalization are not equal")
    func inhibitEqualIsByteEquality() throws {
        var inhibitor = Inhibitor(rules: [InhibitRule(
            sourceMatchers: [try Matcher(name: "severity", type: .equal, value: "critical")],
            targetMatchers: [try Matcher(name: "severity", type: .equal, value: "warning")],
            equal: ["site"]
        )])
        let source = LabelSet(["severity": "critical", "site": "caf\u{E9}"])
        inhibitor.alertFired(source.fingerprint, labels: source)
        let sameBytes = LabelSet(["severity": "warning", "site": "caf\u{E9}"])
        let otherBytes = LabelSet(["severity": "warning", "site": "cafe\u{301}"])
        #expect(inhibitor.inhibitors(of: sameBytes, fingerprint: sameBytes.fingerprint) == [source.fingerprint])
        #expect(inhibitor.inhibitors(of: otherBytes, fingerprint: otherBytes.fingerprint).isEmpty)
    }

    /// Patterns built from pieces that mix valid and invalid Go syntax.
    static let patternGenerator = Gen.element(of: [
        "a", "b", ".", "*", "+", "?", "|", "(", ")", "[", "]", "^", "$", "\\", "\\d", "\\w", "{2}", "{1,", "(?i)", "(?:", "é", "\"", ",", "}", " ",
    ]).map { $0 ?? "a" }.array(of: 0...8).map { $0.joined() }

    @Test("a regex matcher printed by nats-alerter parses back to the same matcher, compiled by RE2 to the same language")
    func regexMatcherRoundTrip() async {
        let samples = ["", "a", "b", "ab", "aa", "é", "A", "1", "a b", "\"", ","]
        await propertyCheck(count: 500, input: nameGenerator, Self.patternGenerator, Gen.bool) { name, pattern, negative in
            guard let matcher = try? Matcher(name: name, type: negative ? .regexNoMatch : .regexMatch, value: pattern) else {
                // Refused patterns are refused however they are written.
                #expect(throws: (any Error).self) { try MatcherParser.parseMatcher("\(name)=~\(GoStyle.quote(pattern))") }
                return
            }
            let parsed = try? MatcherParser.parseMatcher(matcher.description)
            #expect(parsed == matcher, "\(matcher.description)")
            for sample in samples {
                #expect(parsed?.matches(sample) == matcher.matches(sample), "\(matcher.description) on \(sample.debugDescription)")
            }
        }
    }
}

/// What Alertmanager prints for a matcher value: `\`, `"` and newline escaped.
enum GoStyle {
    static func quote(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
