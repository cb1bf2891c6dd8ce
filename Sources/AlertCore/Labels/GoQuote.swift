/// Go's `strconv.Quote` (what `fmt`'s `%q` prints), which Alertmanager's
/// group keys and matcher strings are built with: a key must be byte-for-byte
/// the one Alertmanager builds, and quoting must keep `a="1\", b=\"2"` (one
/// label) apart from `a="1", b="2"` (two).
enum GoQuote {
    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where isPrint(scalar): result.unicodeScalars.append(scalar)
            case "\u{07}": result += "\\a"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{0B}": result += "\\v"
            default:
                let value = scalar.value
                if value < 0x20 || value == 0x7F {
                    result += "\\x" + hex(value, digits: 2)
                } else if value < 0x10000 {
                    result += "\\u" + hex(value, digits: 4)
                } else {
                    result += "\\U" + hex(value, digits: 8)
                }
            }
        }
        return result + "\""
    }

    /// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols
    /// and the ASCII space; no other space, control or format character.
    static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value >= 0x20 && scalar.value < 0x7F }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.utf8.count)) + text
    }
}

extension LabelSet {
    /// prometheus/common's `LabelSet.String()`: `{a="1", b="x\"y"}`, names in
    /// byte order, values quoted as Go's `%q`. The group-labels half of an
    /// Alertmanager group key.
    public var goDescription: String {
        "{" + labels.map { $0.name + "=" + GoQuote.quote($0.value) }.joined(separator: ", ") + "}"
    }
}
