public import Foundation

/// One entry of a named time interval (Alertmanager's `TimeInterval`).
///
/// An entry describes a set of wall-clock moments in `location`: it contains
/// an instant when every field that is present accepts that instant's local
/// time, and an empty field accepts everything. Within a field the ranges are
/// alternatives, so `weekdays: ["monday:wednesday", "friday"]` accepts any of
/// the four days.
///
/// All fields are read from the same local calendar date and time of day, so
/// an entry follows daylight-saving changes the way a person with a wall clock
/// in that zone would: "09:00–17:00 in Europe/Berlin" starts at 08:00 UTC in
/// winter and at 07:00 UTC in summer, a window inside the skipped spring-forward
/// hour never matches that night, and one inside the repeated fall-back hour
/// matches for both passes of that hour.
public struct CalendarInterval: Sendable, Equatable {
    /// A half-open range of minutes since local midnight, `[startMinute, endMinute)`.
    /// `endMinute` may be 1440 (`"24:00"`) so a range can cover a day's last minute.
    public struct TimeRange: Sendable, Equatable {
        public var startMinute: Int
        public var endMinute: Int
        public init(startMinute: Int, endMinute: Int) {
            self.startMinute = startMinute
            self.endMinute = endMinute
        }
    }

    /// An inclusive range of integers: weekdays, days of the month, months or years.
    public struct IntRange: Sendable, Equatable {
        public var start: Int
        public var end: Int
        public init(start: Int, end: Int) {
            self.start = start
            self.end = end
        }
    }

    /// Times of day the entry covers; empty means the whole day.
    public var times: [TimeRange]
    /// Days of the week, 0 = Sunday … 6 = Saturday, so a range cannot wrap
    /// from Saturday to Sunday; empty means every day.
    public var weekdays: [IntRange]
    /// Days of the month. Negative days count back from the month's last day
    /// (-1 is the last day) and are resolved against the length of the month
    /// being checked, which is how "the last three days" works in every month.
    /// Empty means every day.
    public var daysOfMonth: [IntRange]
    /// Months, 1 = January … 12 = December; empty means every month.
    public var months: [IntRange]
    /// Calendar years; empty means every year.
    public var years: [IntRange]
    /// The zone whose wall clock every other field is read in.
    public var location: TimeZone

    public init(
        times: [TimeRange] = [],
        weekdays: [IntRange] = [],
        daysOfMonth: [IntRange] = [],
        months: [IntRange] = [],
        years: [IntRange] = [],
        location: TimeZone = TimeZone(identifier: "UTC")!
    ) {
        self.times = times
        self.weekdays = weekdays
        self.daysOfMonth = daysOfMonth
        self.months = months
        self.years = years
        self.location = location
    }

    /// Whether `date`, read on the wall clock of `location`, falls inside this entry.
    public func contains(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = location
        let local = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute], from: date)
        guard let year = local.year, let month = local.month, let day = local.day,
              let weekday = local.weekday, let hour = local.hour, let minute = local.minute
        else { return false }

        if !times.isEmpty {
            let minuteOfDay = hour * 60 + minute
            guard times.contains(where: { $0.startMinute <= minuteOfDay && minuteOfDay < $0.endMinute }) else { return false }
        }
        if !daysOfMonth.isEmpty {
            let monthLength = calendar.range(of: .day, in: .month, for: date)?.count ?? 31
            // Resolving against this month's length and comparing is all the
            // clamping Alertmanager does amounts to: an end past the month's
            // last day stops there, and a start past it matches nothing.
            func resolved(_ day: Int) -> Int { day < 0 ? monthLength + day + 1 : day }
            guard daysOfMonth.contains(where: { resolved($0.start) <= day && day <= resolved($0.end) }) else { return false }
        }
        // Calendar numbers weekdays 1 = Sunday; the interval's are 0 = Sunday.
        guard Self.accepts(weekdays, weekday - 1), Self.accepts(months, month), Self.accepts(years, year) else {
            return false
        }
        return true
    }

    private static func accepts(_ ranges: [IntRange], _ value: Int) -> Bool {
        ranges.isEmpty || ranges.contains { $0.start <= value && value <= $0.end }
    }
}

// MARK: - Parsing the YAML string forms

extension CalendarInterval {
    /// Parses `"HH:MM"` into minutes since midnight. Hours and minutes take
    /// exactly two digits (`"9:00"` is rejected, as Alertmanager does), and
    /// `"24:00"` is the only time past 23:59 so that a range can end at midnight.
    public static func parseTime(_ text: String) throws(CalendarIntervalError) -> Int {
        let bytes = Array(text.utf8)
        func digit(_ index: Int) -> Int? {
            let byte = bytes[index]
            return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
        }
        guard bytes.count == 5, bytes[2] == UInt8(ascii: ":"),
              let h1 = digit(0), let h2 = digit(1), let m1 = digit(3), let m2 = digit(4)
        else { throw CalendarIntervalError("\(quote(text)) is not a time of day: expected HH:MM from 00:00 to 24:00") }
        let hours = h1 * 10 + h2, minutes = m1 * 10 + m2
        guard (hours < 24 && minutes < 60) || (hours == 24 && minutes == 0) else {
            throw CalendarIntervalError("\(quote(text)) is not a time of day: expected HH:MM from 00:00 to 24:00")
        }
        return hours * 60 + minutes
    }

    /// Parses a weekday or a `start:end` range of weekdays by English name,
    /// in any letter case. Numbers are not accepted, as in Alertmanager. A
    /// range must run forwards within Sunday…Saturday, so a weekend is written
    /// as the two separate days `saturday` and `sunday`.
    public static func parseWeekdayRange(_ text: String) throws(CalendarIntervalError) -> IntRange {
        let range = try splitRange(text) { (part: String) throws(CalendarIntervalError) -> Int in
            guard let day = weekdayNames.firstIndex(of: part.lowercased()) else {
                throw CalendarIntervalError("\(quote(part)) is not a weekday")
            }
            return day
        }
        guard range.start <= range.end else {
            throw CalendarIntervalError(
                "weekday range \(quote(text)) goes backwards: weeks run from sunday to saturday, so list days on both sides of that boundary separately")
        }
        return range
    }

    /// Parses a day of the month or a `start:end` range of them. Days are
    /// 1…31 or -31…-1, counting back from the month's last day.
    ///
    /// The checks are Alertmanager's, so that a config is accepted here exactly
    /// when it is accepted there: a negative start needs a negative end
    /// (`"-3:-1"`, not `"-3:5"`), while a positive start may have a negative end
    /// (`"1:-1"` is the whole month). A range is rejected when its end comes
    /// before its start with negative days taken as 28 + day; that estimate is
    /// one day short of a 28-day month, so `"28:-1"` is rejected as well.
    /// Ranges that reach past a shorter month's end are cut off when matching.
    public static func parseDayOfMonthRange(_ text: String) throws(CalendarIntervalError) -> IntRange {
        let range = try splitRange(text) { (part: String) throws(CalendarIntervalError) -> Int in
            guard let day = Int(part), day != 0, (-31...31).contains(day) else {
                throw CalendarIntervalError("\(quote(part)) is not a day of the month: expected 1 to 31, or -31 to -1 counting back from the last day")
            }
            return day
        }
        if range.start < 0 && range.end > 0 {
            throw CalendarIntervalError(
                "day-of-month range \(quote(text)) starts counting from the month's end but ends counting from its start: a negative start needs a negative end")
        }
        let checkedStart = range.start < 0 ? 28 + range.start : range.start
        let checkedEnd = range.end < 0 ? 28 + range.end : range.end
        if checkedStart > checkedEnd {
            if range.end < 0 {
                throw CalendarIntervalError(
                    "day-of-month range \(quote(text)) ends before it starts: negative days are checked as 28 + day, which puts \(range.end) at day \(checkedEnd), before \(range.start < 0 ? "day \(checkedStart)" : "\(range.start)")")
            }
            throw CalendarIntervalError("day-of-month range \(quote(text)) ends before it starts: \(range.end) is before \(range.start)")
        }
        return range
    }

    /// Parses a month or a `start:end` range of months, by English name in any
    /// letter case or by number 1…12. A range cannot wrap past December; a
    /// winter spanning the new year is two ranges.
    public static func parseMonthRange(_ text: String) throws(CalendarIntervalError) -> IntRange {
        let range = try splitRange(text) { (part: String) throws(CalendarIntervalError) -> Int in
            if let index = monthNames.firstIndex(of: part.lowercased()) { return index + 1 }
            guard let month = Int(part), (1...12).contains(month) else {
                throw CalendarIntervalError("\(quote(part)) is not a month: expected january to december or 1 to 12")
            }
            return month
        }
        guard range.start <= range.end else {
            throw CalendarIntervalError(
                "month range \(quote(text)) goes backwards: \(monthNames[range.end - 1]) is before \(monthNames[range.start - 1]); split a range across the new year in two")
        }
        return range
    }

    /// Parses a year or a `start:end` range of years.
    public static func parseYearRange(_ text: String) throws(CalendarIntervalError) -> IntRange {
        let range = try splitRange(text) { (part: String) throws(CalendarIntervalError) -> Int in
            guard let year = Int(part), year > 0 else {
                throw CalendarIntervalError("\(quote(part)) is not a year")
            }
            return year
        }
        guard range.start <= range.end else {
            throw CalendarIntervalError("year range \(quote(text)) goes backwards: \(range.end) is before \(range.start)")
        }
        return range
    }

    /// Resolves an IANA time zone name such as `Europe/Berlin`. As with
    /// Alertmanager, an empty name and `UTC` mean UTC and `Local` means this
    /// machine's zone. Offset spellings that Foundation would otherwise
    /// accept (`GMT+2`, `UTC-05:00`) are refused because Alertmanager refuses
    /// them; fixed offsets have IANA names such as `Etc/GMT-2`.
    public static func parseLocation(_ text: String) throws(CalendarIntervalError) -> TimeZone {
        switch text {
        case "", "UTC": return TimeZone(identifier: "UTC")!
        case "Local": return TimeZone.current
        default: break
        }
        let isOffset = (text.hasPrefix("GMT") || text.hasPrefix("UTC"))
            && (text.dropFirst(3).first == "+" || text.dropFirst(3).first == "-")
            && text != "GMT+0" && text != "GMT-0"
        if isOffset {
            throw CalendarIntervalError(
                "\(quote(text)) is not an IANA time zone name: fixed offsets are written like Etc/GMT-2 (the sign is inverted)")
        }
        guard let zone = TimeZone(identifier: text) else {
            throw CalendarIntervalError("\(quote(text)) is not a time zone in this system's time zone database")
        }
        return zone
    }

    private static let weekdayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    private static let monthNames = [
        "january", "february", "march", "april", "may", "june",
        "july", "august", "september", "october", "november", "december",
    ]

    /// Splits `value` or `start:end` and converts each side; a single value is
    /// a range of one.
    private static func splitRange(
        _ text: String, _ member: (String) throws(CalendarIntervalError) -> Int
    ) throws(CalendarIntervalError) -> IntRange {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1:
            let value = try member(parts[0])
            return IntRange(start: value, end: value)
        case 2:
            return IntRange(start: try member(parts[0]), end: try member(parts[1]))
        default:
            throw CalendarIntervalError("\(quote(text)) is not a range: expected one value or start:end")
        }
    }

    private static func quote(_ text: String) -> String {
        String(reflecting: text)
    }
}

/// A time-interval value that cannot be parsed, naming the offending text.
/// Callers that know the field and index prefix it, e.g.
/// `weekdays[1]: "funday" is not a weekday`.
public struct CalendarIntervalError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A named list of entries: `time_intervals[].name` with its
/// `time_intervals[].time_intervals`. Routes refer to it by name in
/// `mute_time_intervals` and `active_time_intervals`.
public struct NamedTimeInterval: Sendable, Equatable {
    public var name: String
    public var intervals: [CalendarInterval]

    public init(name: String, intervals: [CalendarInterval]) {
        self.name = name
        self.intervals = intervals
    }

    /// Whether any entry contains `date`; each entry is read in its own
    /// location. A name with no entries contains nothing.
    public func contains(_ date: Date) -> Bool {
        intervals.contains { $0.contains(date) }
    }
}
