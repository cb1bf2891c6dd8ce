public import Foundation

extension Date {
    /// RFC 3339 in UTC with milliseconds ("2026-11-22T05:39:23.225Z"), rounded
    /// to the nearest millisecond. Foundation's ISO 8601 style truncates the
    /// binary fraction, so a publisher's `occurred_at_unix_ms` of …225 would
    /// read back as …224.
    ///
    /// Total: a time outside years 1–9999 (or not finite) is printed as the
    /// nearest end of that range instead of trapping on the conversion.
    /// Event times are brought into range at ingest (`AlertEvent.sanitize`);
    /// this is the last line of defence for every other source of a date.
    public var rfc3339Milliseconds: String {
        let milliseconds = Int64(Self.clampedMilliseconds(timeIntervalSince1970))
        let (seconds, fraction) = (milliseconds.floorDivided(by: 1000), milliseconds.floorModulo(1000))
        let whole = Date(timeIntervalSince1970: Double(seconds))
            .formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
        return whole.dropLast() + "." + String(fraction + 1000).dropFirst() + "Z"
    }

    /// An RFC 3339 time, or nil. The text is checked (and a fraction cut to
    /// nanoseconds, as Go's parser reads it) before Foundation sees it: ICU
    /// under `ISO8601DateFormatter` dies with SIGFPE on a fraction of some
    /// 60 digits (found by fuzz-silence-api). Every time read from outside
    /// (API bodies, CLI files) goes through here.
    public init?(rfc3339 text: String) {
        guard text.utf8.count <= 1024,
              let match = text.wholeMatch(of: /([0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})/) else {
            return nil
        }
        let fraction = match.output.2.map { "." + $0.prefix(9) } ?? ""
        let normalized = match.output.1.uppercased() + fraction + match.output.3.uppercased()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: normalized) ?? ISO8601DateFormatter().date(from: normalized) else { return nil }
        self = date
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z, in seconds since 1970.
    public static let representableSeconds: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799.999

    /// Milliseconds since 1970, rounded and clamped to `representableSeconds`
    /// (NaN counts as 1970): always convertible to `Int64`.
    static func clampedMilliseconds(_ seconds: Double) -> Double {
        guard !seconds.isNaN else { return 0 }
        return (min(max(seconds, representableSeconds.lowerBound), representableSeconds.upperBound) * 1000).rounded()
    }
}

private extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 { (self - floorModulo(divisor)) / divisor }
    func floorModulo(_ divisor: Int64) -> Int64 { ((self % divisor) + divisor) % divisor }
}
