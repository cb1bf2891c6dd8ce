/// One mailbox of an address header or the SMTP envelope:
/// `ops@example.com`, `<ops@example.com>`, `On-call <ops@example.com>` or
/// `"Ops, EU" <ops@example.com>`.
///
/// Parsing is strict on purpose: recipients are rendered from templates that
/// can contain event data, and each entry must be exactly one address, so no
/// label value can smuggle in a second recipient or a header line. The
/// address itself must be ASCII (no SMTPUTF8) with a dot-atom local part;
/// display names may be any text without control characters.
struct EmailAddress: Sendable, Equatable, CustomStringConvertible {
    /// Empty when there is none.
    var displayName: String
    /// The addr-spec, `local@domain`: what SMTP's MAIL FROM and RCPT TO carry.
    var address: String

    init(displayName: String = "", address: String) {
        self.displayName = displayName
        self.address = address
    }

    /// Parses exactly one mailbox.
    init(parsing text: String) throws(EmailAddressError) {
        if let bad = text.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw EmailAddressError(text, "contains the control character U+\(String(bad.value, radix: 16, uppercase: true))")
        }
        let entry = text.trimmingSpaces
        guard !entry.isEmpty else { throw EmailAddressError(text, "is empty") }
        guard entry.hasSuffix(">") else {
            try Self.validate(addrSpec: entry, in: text)
            self.init(address: entry)
            return
        }
        guard let open = entry.lastIndex(of: "<") else { throw EmailAddressError(text, "has a '>' without '<'") }
        let address = String(entry[entry.index(after: open)..<entry.index(before: entry.endIndex)])
        try Self.validate(addrSpec: address, in: text)
        let phrase = String(entry[..<open]).trimmingSpaces
        self.init(displayName: try Self.displayName(phrase, in: text), address: address)
    }

    /// Parses a comma-separated list (the rendered `to`); empty entries, as a
    /// template leaves them, are skipped. Throws unless every entry is one
    /// valid mailbox and there is at least one.
    static func parseList(_ text: String) throws(EmailAddressError) -> [EmailAddress] {
        var addresses: [EmailAddress] = []
        for entry in splitList(text) where !entry.trimmingSpaces.isEmpty {
            addresses.append(try EmailAddress(parsing: entry))
        }
        guard !addresses.isEmpty else { throw EmailAddressError(text, "names no address") }
        return addresses
    }

    /// The domain part (for Message-Id).
    var domain: Substring { address[address.index(after: address.lastIndex(of: "@")!)...] }

    var description: String { displayName.isEmpty ? address : "\(displayName) <\(address)>" }

    // MARK: Grammar (RFC 5322 §3.4, without obsolete forms or quoted local parts)

    /// Splits at commas outside double quotes and angle brackets; with
    /// `templateTags`, also outside Mustache tags (`{{…}}`), for a configured
    /// list split before it is rendered.
    static func splitList(_ text: String, templateTags: Bool = false) -> [String] {
        var entries: [String] = []
        var current = ""
        var inQuotes = false, inAngle = false, escaped = false
        var tag = 0
        var previous: Character = " "
        for character in text {
            defer {
                escaped = inQuotes && !escaped && character == "\\"
                previous = character
            }
            switch character {
            case "{" where templateTags && previous == "{": tag += 1
            case "}" where templateTags && previous == "}": tag = max(0, tag - 1)
            case "\"" where !escaped && !inAngle && tag == 0: inQuotes.toggle()
            case "<" where !inQuotes && tag == 0: inAngle = true
            case ">" where !inQuotes && tag == 0: inAngle = false
            case "," where !inQuotes && !inAngle && tag == 0:
                entries.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        entries.append(current)
        return entries
    }

    private static func displayName(_ phrase: String, in text: String) throws(EmailAddressError) -> String {
        guard phrase.hasPrefix("\"") else {
            if let special = phrase.first(where: { "<>()[]:;@\\,\"".contains($0) }) {
                throw EmailAddressError(text, "has '\(special)' in an unquoted display name")
            }
            return phrase
        }
        var name = ""
        var escaped = false
        var closed = false
        for character in phrase.dropFirst() {
            guard !closed else { throw EmailAddressError(text, "has text after the quoted display name") }
            if escaped {
                name.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                closed = true
            } else {
                name.append(character)
            }
        }
        guard closed else { throw EmailAddressError(text, "has an unterminated quoted display name") }
        return name
    }

    private static let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~".utf8)
    private static let labelCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".utf8)
    private static let literalCharacters = Set("abcdefABCDEFIPv0123456789.:".utf8)

    private static func validate(addrSpec: String, in text: String) throws(EmailAddressError) {
        let bytes = Array(addrSpec.utf8)
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { throw EmailAddressError(text, "has no '@'") }
        let local = bytes[..<at], domain = bytes[(at + 1)...]
        guard bytes.count <= 254 else { throw EmailAddressError(text, "is longer than 254 characters") }
        guard !local.isEmpty, local.count <= 64,
              local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.allSatisfy(atext.contains) })
        else { throw EmailAddressError(text, "has an invalid local part (letters, digits, !#$%&'*+-/=?^_`{|}~ and single dots)") }
        if domain.first == UInt8(ascii: "["), domain.last == UInt8(ascii: "]") {
            guard domain.count > 2, domain.dropFirst().dropLast().allSatisfy(literalCharacters.contains) else {
                throw EmailAddressError(text, "has an invalid address literal")
            }
            return
        }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard !domain.isEmpty,
              labels.allSatisfy({ label in
                  (1...63).contains(label.count) && label.allSatisfy(labelCharacters.contains)
                      && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
              })
        else { throw EmailAddressError(text, "has an invalid domain (ASCII letters, digits, hyphens, dots)") }
    }
}

/// A string that is not one valid mailbox (or list of them).
struct EmailAddressError: Error, Sendable, CustomStringConvertible {
    let description: String

    /// `text` is quoted with escapes, since it may hold control characters from an event.
    init(_ text: String, _ problem: String) {
        description = "\(text.debugDescription) \(problem)"
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (not line breaks: those are errors where this is used).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
