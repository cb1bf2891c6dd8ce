import CRE2

/// A regular expression compiled by RE2: the syntax of Go's `regexp` (what
/// Alertmanager compiles matchers with) and matching in time linear in the
/// input, whatever the pattern. API users post patterns (silences, `?filter=`),
/// so a backtracking engine is not an option here.
///
/// Immutable after `init`; RE2 allows concurrent matching on one compiled
/// pattern, so an instance is shared freely between threads.
final class RE2Regex: @unchecked Sendable {
    // Owned: created in init, freed in deinit, never handed out.
    private let handle: OpaquePointer

    /// Compiles `pattern` as Go's `regexp.Compile` would, or throws Go's
    /// message (`error parsing regexp: missing closing ): ` + "`(a`"): the
    /// kind of error and the fragment of the expression it was found in.
    init(_ pattern: String) throws(MatcherError) {
        if let fragment = Self.unsupportedEscape(in: pattern) {
            throw MatcherError("error parsing regexp: invalid escape sequence: `\(fragment)`")
        }
        var pattern = pattern
        let compiled = pattern.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                CRE2_compile(chars.baseAddress, chars.count)
            }
        }
        guard let compiled else { throw MatcherError("error parsing regexp: out of memory") }
        let code = CRE2_error_code(compiled)
        guard code == 0 else {
            var length = 0
            let argument = CRE2_error_arg(compiled, &length)
            let fragment = String(decoding: UnsafeRawBufferPointer(start: argument, count: length), as: UTF8.self)
            CRE2_free(compiled)
            throw MatcherError("error parsing regexp: \(Self.goMessage(forCode: code)): `\(fragment)`")
        }
        handle = compiled
    }

    deinit {
        CRE2_free(handle)
    }

    /// Whether the whole of `text` matches (compare the UTF-8 bytes, as Go does).
    func fullMatch(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                CRE2_full_match(handle, chars.baseAddress, chars.count) != 0
            }
        }
    }

    /// Go's `regexp/syntax` error text for each `RE2::ErrorCode`.
    private static func goMessage(forCode code: Int32) -> String {
        switch code {
        case 2: "invalid escape sequence"
        case 3: "invalid character class"
        case 4: "invalid character class range"
        case 5: "missing closing ]"
        case 6: "missing closing )"
        case 7: "unexpected )"
        case 8: "trailing backslash at end of expression"
        case 9: "missing argument to repetition operator"
        case 10: "invalid repeat count"
        case 11: "invalid nested repetition operator"
        case 12: "invalid or unsupported Perl syntax"
        case 13: "invalid UTF-8"
        case 14: "invalid named capture"
        case 15: "expression too large"
        default: "regexp/syntax: internal error"
        }
    }

    /// RE2 accepts `\C` (any single byte), which Go's syntax refuses; every
    /// other escape is accepted or refused alike by both. Skips `\Q…\E`
    /// literal text, where a backslash is just a character.
    private static func unsupportedEscape(in pattern: String) -> String? {
        let bytes = Array(pattern.utf8)
        let backslash = UInt8(ascii: "\\")
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == backslash else { index += 1; continue }
            switch bytes[index + 1] {
            case UInt8(ascii: "C"):
                return "\\C"
            case UInt8(ascii: "Q"):
                // Literal up to the first `\E` (or the end), as Go's parser reads it.
                index += 2
                while index + 1 < bytes.count, !(bytes[index] == backslash && bytes[index + 1] == UInt8(ascii: "E")) { index += 1 }
                index += 2
            default:
                index += 2
            }
        }
        return nil
    }
}
