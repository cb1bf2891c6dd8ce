/// Quoted-printable (RFC 2045 §6.7), the body encoding of both MIME parts:
/// readable in raw form, 7-bit and with short lines, so any relay passes it.
enum QuotedPrintable {
    static let lineLimit = 76

    /// Encodes the UTF-8 of `text`. Line breaks (CRLF, LF or CR) become CRLF
    /// hard breaks; longer lines get soft breaks (`=` CRLF); `=`, non-ASCII,
    /// control characters and whitespace before a hard break are `=XX`.
    ///
    /// The result never contains `=_`, so a boundary starting with `=_`
    /// cannot occur in it.
    static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if index > 0 { output += [13, 10] }
            encodeLine(Array(line.utf8), into: &output)
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func encodeLine(_ bytes: [UInt8], into output: inout [UInt8]) {
        var lineLength = 0
        for (index, byte) in bytes.enumerated() {
            let isLast = index == bytes.count - 1
            let literal = (33...126).contains(byte) && byte != UInt8(ascii: "=")
                || ((byte == 32 || byte == 9) && !isLast)
            let token: [UInt8] = literal ? [byte] : escaped(byte)
            // Leave room for the soft break's "=" unless this token ends the line.
            let room = isLast ? lineLimit : lineLimit - 1
            if lineLength + token.count > room {
                output += [UInt8(ascii: "="), 13, 10]
                lineLength = 0
            }
            output += token
            lineLength += token.count
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func escaped(_ byte: UInt8) -> [UInt8] {
        [UInt8(ascii: "="), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
    }
}
