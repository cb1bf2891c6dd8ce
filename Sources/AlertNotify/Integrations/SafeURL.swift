/// URLs from event data (`generator_url`) checked before any receiver sees
/// them. A publisher controls the value; a receiver interprets it: Slack
/// reads `<…|…>` as a link or a mention (`<!channel>`, `<@U024BE7LH>`), and
/// Alertmanager refuses a whole POST for one alert whose `generatorURL` is
/// not a URI. Only an absolute `http`/`https` URL made of the characters
/// RFC 3986 allows passes: no space, control character, `<`, `>`, `|`, `"`,
/// backslash or backtick, so it can be placed inside Slack's `<url|text>` or
/// an HTML attribute without changing their meaning.
public enum SafeURL {
    /// The URL unchanged if it passes, else nil (the alert goes without a link).
    public static func absoluteHTTP(_ text: String) -> String? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 8192, bytes.allSatisfy(isAllowed) else { return nil }
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            rest = lowered.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            rest = lowered.dropFirst(7)
        } else {
            return nil
        }
        // The authority (userinfo@host:port) must name a host.
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        guard !host.isEmpty, !host.hasPrefix(":") else { return nil }
        return text
    }

    /// RFC 3986 unreserved, reserved and `%`.
    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~:/?#[]@!$&'()*+,;=%".utf8.contains(byte)
        }
    }
}
