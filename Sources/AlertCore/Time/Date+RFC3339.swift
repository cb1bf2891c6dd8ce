public import Foundation

extension Date {
    /// RFC 3339 in UTC with milliseconds ("2026-11-22T05:39:23.225Z"), rounded
    /// to the nearest millisecond. Foundation's ISO 8601 style truncates the
    /// binary fraction, so a publisher's `occurred_at_unix_ms` of …225 would
    /// read back as …224.
    public var rfc3339Milliseconds: String {
        let milliseconds = Int64((timeIntervalSince1970 * 1000).rounded())
        let (seconds, fraction) = (milliseconds.floorDivided(by: 1000), milliseconds.floorModulo(1000))
        let whole = Date(timeIntervalSince1970: Double(seconds))
            .formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
        return whole.dropLast() + "." + String(fraction + 1000).dropFirst() + "Z"
    }
}

private extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 { (self - floorModulo(divisor)) / divisor }
    func floorModulo(_ divisor: Int64) -> Int64 { ((self % divisor) + divisor) % divisor }
}
