/// Durations in Prometheus/Alertmanager's notation: one or more
/// `<number><unit>` terms in decreasing unit order, units `y w d h m s ms`
/// (`1h30m`, `5m`, `250ms`, `0s`). A year is 365 days, as in Prometheus.
public enum PrometheusDuration {
    private static let units: [(String, Int64)] = [
        ("y", 365 * 24 * 3600 * 1000), ("w", 7 * 24 * 3600 * 1000), ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000), ("m", 60 * 1000), ("s", 1000), ("ms", 1),
    ]

    /// Parses a duration; nil when the text is not in the notation.
    public static func parse(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        var rest = Substring(text)
        var total: Int64 = 0
        var lastUnitIndex = -1
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let number = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unitText = rest.prefix(while: { $0.isASCII && $0.isLetter })
            guard let unitIndex = units.firstIndex(where: { $0.0 == unitText }), unitIndex > lastUnitIndex else { return nil }
            lastUnitIndex = unitIndex
            rest = rest.dropFirst(unitText.count)
            let (product, overflow) = number.multipliedReportingOverflow(by: units[unitIndex].1)
            guard !overflow else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        return .milliseconds(total)
    }

    /// Formats as Prometheus does (`1h30m`, `0s`).
    public static func format(_ duration: Duration) -> String {
        var ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms == 0 { return "0s" }
        var result = ms < 0 ? "-" : ""
        ms = abs(ms)
        for (unit, size) in units where ms >= size {
            result += "\(ms / size)\(unit)"
            ms %= size
        }
        return result
    }
}
