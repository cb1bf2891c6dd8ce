import Foundation

/// One header field of a message, written as RFC 5322 lines: folded to 78
/// characters, non-ASCII text as RFC 2047 encoded-words (`=?UTF-8?B?…?=`).
///
/// Values that can carry event data are held as `.text` or `.addresses` and
/// can never end the line early: control characters (CR and LF above all) are
/// replaced by spaces before encoding, and addresses were validated when
/// parsed. Only `.ascii` values made by nats-alerter itself (Date, Message-Id)
/// are written as given.
struct HeaderField: Sendable, Equatable {
    enum Value: Sendable, Equatable {
        /// Unstructured text (Subject, a configured header): sanitized, encoded when needed.
        case text(String)
        /// An address list (From, To, Cc, Reply-To).
        case addresses([EmailAddress])
        /// Generated ASCII without line breaks (Date, Message-Id).
        case ascii(String)
    }

    var name: String
    var value: Value

    static let lineLimit = 78
    /// The longest encoded-word RFC 2047 §2 allows.
    static let encodedWordLimit = 75

    /// Whether `name` is a field name (RFC 5322 §3.6.8: printable ASCII but ':'),
    /// kept to a length that leaves room for a value on the first line.
    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { (33...126).contains($0) && $0 != UInt8(ascii: ":") }
    }

    /// `text` with every control character (C0, DEL, C1) and Unicode line or
    /// paragraph separator replaced by a space, then trimmed.
    static func sanitized(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let isBreak = scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
            result.append(isBreak ? " " : scalar)
        }
        return String(result).trimmingSpaces
    }

    /// The field as CRLF-terminated lines.
    var encoded: String {
        switch value {
        case .ascii(let text):
            return Self.fold(name: name, words: text.split(separator: " ", omittingEmptySubsequences: false).map(String.init))
        case .text(let text):
            let clean = Self.sanitized(text)
            if Self.isPlainASCII(clean) {
                return Self.fold(name: name, words: clean.split(separator: " ", omittingEmptySubsequences: false).map(String.init))
            }
            return Self.fold(name: name, words: Self.encodedWords(clean, firstLineUsed: name.utf8.count + 2))
        case .addresses(let addresses):
            // Each mailbox is one or more words; folds fall between words, and
            // between mailboxes after their comma.
            var words: [String] = []
            for (index, mailbox) in addresses.enumerated() {
                var mailboxWords = Self.words(of: mailbox)
                if index < addresses.count - 1 { mailboxWords[mailboxWords.count - 1] += "," }
                words += mailboxWords
            }
            return Self.fold(name: name, words: words)
        }
    }

    /// ASCII a reader can take literally: printable, no encoded-word look-alike,
    /// no word too long for a line.
    private static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { (32...126).contains($0) } && !text.contains("=?")
            && text.split(separator: " ").allSatisfy { $0.utf8.count <= 900 }
    }

    private static let atomCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~ ".utf8)

    /// A mailbox as header words: the display name as atoms, a quoted string
    /// or encoded-words, then `<address>`.
    private static func words(of mailbox: EmailAddress) -> [String] {
        let name = sanitized(mailbox.displayName)
        guard !name.isEmpty else { return [mailbox.address] }
        let phrase: [String]
        if name.utf8.allSatisfy(atomCharacters.contains) && !name.contains("=?") {
            phrase = name.split(separator: " ").map(String.init)
        } else if name.utf8.allSatisfy({ (32...126).contains($0) }) && !name.contains("=?") {
            phrase = ["\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""]
        } else {
            phrase = encodedWords(name, firstLineUsed: encodedWordLimit)
        }
        return phrase + ["<\(mailbox.address)>"]
    }

    /// `text` as UTF-8 "B" encoded-words of at most 75 characters, split only
    /// between Unicode scalars; the first is shorter when the header name
    /// leaves less than a line.
    static func encodedWords(_ text: String, firstLineUsed: Int) -> [String] {
        func byteBudget(_ characters: Int) -> Int {
            max(6, (min(characters, encodedWordLimit) - "=?UTF-8?B??=".count) / 4 * 3)
        }
        var words: [String] = []
        var chunk: [UInt8] = []
        var budget = byteBudget(lineLimit - firstLineUsed)
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > budget {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
                budget = byteBudget(encodedWordLimit)
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// `Name: w1 w2 …` with a line break (CRLF, then the space) inserted
    /// before a word that would pass the line limit. Unfolding (removing the
    /// CRLFs) gives back the words joined by single spaces.
    private static func fold(name: String, words: [String]) -> String {
        var result = name + ":"
        var lineLength = result.utf8.count
        for (index, word) in words.enumerated() {
            if index > 0, !word.isEmpty, lineLength + 1 + word.utf8.count > lineLimit {
                result += "\r\n"
                lineLength = 0
            }
            result += " " + word
            lineLength += 1 + word.utf8.count
        }
        return result + "\r\n"
    }
}
