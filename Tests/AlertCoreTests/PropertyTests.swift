import AlertCore
import PropertyBased
import Testing

/// Label names as Prometheus allows them.
let nameGenerator = Gen.letterOrNumber.string(of: 0...12).map { rest in
    "l" + rest
}
/// Values with everything that needs quoting: quotes, backslashes, newlines,
/// commas, braces, spaces, operators and non-ASCII.
let valueGenerator = Gen.element(of: Array("aZ09 _-.,{}=!~\"\\\né✓日😀")).map { $0 ?? "a" }.string(of: 0...16)

@Suite("Property-based: matchers and fingerprints")
struct PropertyTests {
    @Test("a matcher printed by nats-alerter parses back to itself, whatever the value")
    func matcherRoundTrip() async {
        await propertyCheck(count: 500, input: nameGenerator, valueGenerator, Gen.bool) { name, value, negative in
            let matcher = try! Matcher(name: name, type: negative ? .notEqual : .equal, value: value)
            let parsed = try? MatcherParser.parseMatcher(matcher.description)
            #expect(parsed == matcher, "\(matcher.description)")
        }
    }

    @Test("a list of matchers in braces parses back to the same list")
    func matcherListRoundTrip() async {
        await propertyCheck(count: 300, input: nameGenerator.array(of: 1...5), valueGenerator.array(of: 5)) { names, values in
            let list = Matchers(names.enumerated().map { index, name in try! Matcher(name: name, type: .equal, value: values[index]) })
            let parsed = try? MatcherParser.parseMatchers(list.description)
            #expect(parsed == list.matchers, "\(list.description)")
        }
    }

    @Test("a regex matcher without metacharacters matches exactly its own text (anchored)")
    func regexAnchored() async {
        let plain = Gen.letterOrNumber.string(of: 1...6)
        await propertyCheck(count: 300, input: plain, plain) { pattern, value in
            let matcher = try! Matcher(name: "a", type: .regexMatch, value: pattern)
            #expect(matcher.matches(value) == (value == pattern))
            #expect(matcher.matches(pattern + "x") == false)
            #expect(matcher.matches("x" + pattern) == false)
        }
    }

    @Test("the fingerprint is FNV-1a over the sorted name,0xff,value,0xff bytes, in any arrival order")
    func fingerprintStable() async {
        await propertyCheck(count: 300, input: nameGenerator.array(of: 0...8), valueGenerator.array(of: 8)) { drawn, values in
            var seen = Set<String>()
            let names = drawn.filter { seen.insert($0).inserted }
            let pairs = names.enumerated().map { ($0.element, values[$0.offset]) }
            let set = LabelSet(pairs)
            // An independent formulation: one buffer, hashed in one pass.
            var buffer: [UInt8] = []
            for label in set.labels {
                buffer += Array(label.name.utf8) + [0xff] + Array(label.value.utf8) + [0xff]
            }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in buffer {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            #expect(set.fingerprint.rawValue == hash)
            #expect(LabelSet(pairs.reversed()).fingerprint == set.fingerprint)
            #expect(LabelSet(Dictionary(uniqueKeysWithValues: pairs)).fingerprint == set.fingerprint)
            #expect(Fingerprint(hex: set.fingerprint.description) == set.fingerprint)
        }
    }
}
