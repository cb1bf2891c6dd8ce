/// A cheap pre-check before `JSONSerialization`, which recurses per level:
/// how deep JSON brackets nest, outside strings. Shared by the JSON event
/// decoder and the state record decoder (docs/ARCHITECTURE.md, Bad input).
public enum JSONNesting {
    /// The nesting depth once it passes `limit` (brackets outside strings), else nil.
    public static func depthExceeding(_ limit: Int, in bytes: UnsafeRawBufferPointer) -> Int? {
        var depth = 0
        var inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > limit { return depth }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return nil
    }
}
