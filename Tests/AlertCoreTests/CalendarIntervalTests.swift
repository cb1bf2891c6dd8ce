import AlertCore
import Foundation
import Testing

/// An instant written as a UTC wall-clock reading, e.g. `utc("2026-03-27 08:30")`.
private func utc(_ text: String) -> Date {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    guard let date = formatter.date(from: text) else { fatalError("bad test instant \(text)") }
    return date
}

/// Builds an entry from the YAML string forms, as a config loader would.
private func entry(
    times: [(String, String)] = [],
    weekdays: [String] = [],
    daysOfMonth: [String] = [],
    months: [String] = [],
    years: [String] = [],
    location: String = "UTC"
) throws -> CalendarInterval {
    CalendarInterval(
        times: try times.map { pair throws(CalendarIntervalError) in
            CalendarInterval.TimeRange(
                startMinute: try CalendarInterval.parseTime(pair.0), endMinute: try CalendarInterval.parseTime(pair.1))
        },
        weekdays: try weekdays.map { text throws(CalendarIntervalError) in try CalendarInterval.parseWeekdayRange(text) },
        daysOfMonth: try daysOfMonth.map { text throws(CalendarIntervalError) in try CalendarInterval.parseDayOfMonthRange(text) },
        months: try months.map { text throws(CalendarIntervalError) in try CalendarInterval.parseMonthRange(text) },
        years: try years.map { text throws(CalendarIntervalError) in try CalendarInterval.parseYearRange(text) },
        location: try CalendarInterval.parseLocation(location)
    )
}

/// The message a parser rejects `text` with, or nil when it accepts it.
private func rejection<T>(_ text: String, _ parse: (String) throws(CalendarIntervalError) -> T) -> String? {
    do {
        _ = try parse(text)
        return nil
    } catch {
        return error.description
    }
}

@Suite("Business hours in Europe/Berlin across daylight-saving changes")
struct BerlinBusinessHoursTests {
    let businessHours: CalendarInterval

    init() throws {
        businessHours = try entry(times: [("09:00", "17:00")], weekdays: ["monday:friday"], location: "Europe/Berlin")
    }

    @Test("in winter (CET, UTC+1) the office opens at 08:00 UTC and closes at 16:00 UTC")
    func winter() {
        // Friday 2026-03-27, the last working day before clocks go forward.
        #expect(!businessHours.contains(utc("2026-03-27 07:59")))  // 08:59 in Berlin
        #expect(businessHours.contains(utc("2026-03-27 08:00")))   // 09:00
        #expect(businessHours.contains(utc("2026-03-27 15:59")))   // 16:59
        #expect(!businessHours.contains(utc("2026-03-27 16:00")))  // 17:00, end is exclusive
    }

    @Test("after spring-forward on 2026-03-29 (CEST, UTC+2) the same hours sit an hour earlier in UTC")
    func afterSpringForward() {
        // Monday 2026-03-30.
        #expect(!businessHours.contains(utc("2026-03-30 06:59")))  // 08:59 in Berlin
        #expect(businessHours.contains(utc("2026-03-30 07:00")))   // 09:00
        #expect(businessHours.contains(utc("2026-03-30 14:59")))   // 16:59
        #expect(!businessHours.contains(utc("2026-03-30 15:00")))  // 17:00
        // 07:30 UTC was before opening on Friday and is inside on Monday.
        #expect(!businessHours.contains(utc("2026-03-27 07:30")))
        #expect(businessHours.contains(utc("2026-03-30 07:30")))
    }

    @Test("after fall-back on 2026-10-25 the hours move back to 08:00–16:00 UTC")
    func aroundFallBack() {
        // Friday 2026-10-23 is still summer time.
        #expect(businessHours.contains(utc("2026-10-23 07:00")))   // 09:00 CEST
        #expect(!businessHours.contains(utc("2026-10-23 15:00")))  // 17:00 CEST
        // Monday 2026-10-26 is winter time again.
        #expect(!businessHours.contains(utc("2026-10-26 07:00")))  // 08:00 CET
        #expect(businessHours.contains(utc("2026-10-26 08:00")))   // 09:00 CET
        #expect(businessHours.contains(utc("2026-10-26 15:30")))   // 16:30 CET
    }

    @Test("the weekday is Berlin's, not UTC's, near midnight")
    func weekdayIsLocal() throws {
        let mondayMorning = try entry(times: [("00:00", "01:00")], weekdays: ["monday"], location: "Europe/Berlin")
        // Sunday 2026-03-29 22:30 UTC is Monday 00:30 in Berlin.
        #expect(mondayMorning.contains(utc("2026-03-29 22:30")))
        // Monday 2026-03-30 22:30 UTC is already Tuesday in Berlin.
        #expect(!mondayMorning.contains(utc("2026-03-30 22:30")))
    }

    @Test("a 02:00–03:00 maintenance window never opens on the night the clocks skip that hour")
    func skippedHour() throws {
        let maintenance = try entry(times: [("02:00", "03:00")], location: "Europe/Berlin")
        #expect(!maintenance.contains(utc("2026-03-29 00:59")))  // 01:59 CET
        #expect(!maintenance.contains(utc("2026-03-29 01:00")))  // 03:00 CEST
        #expect(maintenance.contains(utc("2026-03-30 00:30")))   // 02:30 CEST the next night
    }

    @Test("a 02:00–03:00 window stays open for two real hours on the night the clocks repeat that hour")
    func repeatedHour() throws {
        let maintenance = try entry(times: [("02:00", "03:00")], location: "Europe/Berlin")
        #expect(!maintenance.contains(utc("2026-10-24 23:59")))  // 01:59 CEST
        #expect(maintenance.contains(utc("2026-10-25 00:00")))   // 02:00 CEST
        #expect(maintenance.contains(utc("2026-10-25 00:59")))   // 02:59 CEST
        #expect(maintenance.contains(utc("2026-10-25 01:00")))   // 02:00 CET, the second pass
        #expect(maintenance.contains(utc("2026-10-25 01:59")))   // 02:59 CET
        #expect(!maintenance.contains(utc("2026-10-25 02:00")))  // 03:00 CET
    }
}

@Suite("Weekdays, days of the month, months and years")
struct CalendarFieldTests {
    @Test("a weekend is saturday and sunday listed separately")
    func weekend() throws {
        let weekend = try entry(weekdays: ["saturday", "sunday"])
        #expect(weekend.contains(utc("2026-05-02 12:00")))   // Saturday
        #expect(weekend.contains(utc("2026-05-03 12:00")))   // Sunday
        #expect(!weekend.contains(utc("2026-05-04 12:00")))  // Monday
        #expect(!weekend.contains(utc("2026-05-01 23:59")))  // Friday
    }

    @Test("weekday names ignore letter case")
    func weekdayCase() throws {
        #expect(try CalendarInterval.parseWeekdayRange("Monday:FRIDAY") == .init(start: 1, end: 5))
        #expect(try CalendarInterval.parseWeekdayRange("sunday") == .init(start: 0, end: 0))
    }

    @Test("day -1 is 29 February in the leap year 2028 and 28 February in 2027")
    func lastDayOfFebruary() throws {
        let lastDay = try entry(daysOfMonth: ["-1"])
        #expect(lastDay.contains(utc("2028-02-29 10:00")))
        #expect(!lastDay.contains(utc("2028-02-28 10:00")))
        #expect(lastDay.contains(utc("2027-02-28 10:00")))
        #expect(!lastDay.contains(utc("2027-02-27 10:00")))
        #expect(lastDay.contains(utc("2027-01-31 10:00")))
        #expect(!lastDay.contains(utc("2027-01-30 10:00")))
    }

    @Test("the last three days of the month follow the month's length")
    func lastThreeDays() throws {
        let closing = try entry(daysOfMonth: ["-3:-1"])
        #expect(closing.contains(utc("2028-02-27 00:00")))
        #expect(!closing.contains(utc("2028-02-26 23:59")))
        #expect(closing.contains(utc("2027-02-26 00:00")))
        #expect(!closing.contains(utc("2027-02-25 23:59")))
        #expect(closing.contains(utc("2026-04-28 00:00")))
        #expect(!closing.contains(utc("2026-04-27 12:00")))
    }

    @Test("a range past a short month's end stops at its last day, and day 31 never happens in April")
    func rangesPastMonthEnd() throws {
        let tail = try entry(daysOfMonth: ["25:31"])
        #expect(tail.contains(utc("2027-02-28 12:00")))
        #expect(!tail.contains(utc("2027-03-01 12:00")))
        let thirtyFirst = try entry(daysOfMonth: ["31"])
        #expect(thirtyFirst.contains(utc("2026-03-31 12:00")))
        #expect(!thirtyFirst.contains(utc("2026-04-30 12:00")))
        #expect(!thirtyFirst.contains(utc("2026-05-01 12:00")))
    }

    @Test("1:-1 covers every day of the month, mixed positive and negative lists work together")
    func mixedDays() throws {
        let whole = try entry(daysOfMonth: ["1:-1"])
        #expect(whole.contains(utc("2027-02-01 00:00")))
        #expect(whole.contains(utc("2027-02-28 23:59")))
        let payroll = try entry(daysOfMonth: ["1:5", "-3:-1", "10"])
        #expect(payroll.contains(utc("2026-06-05 12:00")))
        #expect(!payroll.contains(utc("2026-06-06 12:00")))
        #expect(payroll.contains(utc("2026-06-10 12:00")))
        #expect(!payroll.contains(utc("2026-06-27 12:00")))
        #expect(payroll.contains(utc("2026-06-28 12:00")))
    }

    @Test("month ranges accept names and numbers; year ranges are inclusive")
    func monthsAndYears() throws {
        let quarterOne = try entry(months: ["january:march", "12"], years: ["2024:2026"])
        #expect(quarterOne.contains(utc("2024-01-01 00:00")))
        #expect(quarterOne.contains(utc("2026-03-31 23:59")))
        #expect(!quarterOne.contains(utc("2026-04-01 00:00")))
        #expect(quarterOne.contains(utc("2026-12-15 12:00")))
        #expect(!quarterOne.contains(utc("2026-11-15 12:00")))
        #expect(!quarterOne.contains(utc("2027-01-15 12:00")))
        #expect(!quarterOne.contains(utc("2023-12-31 23:59")))
        #expect(try CalendarInterval.parseMonthRange("April:6") == .init(start: 4, end: 6))
    }

    @Test("a range ending at 24:00 covers the day's last minute but not the next midnight")
    func endOfDay() throws {
        let evening = try entry(times: [("17:00", "24:00")])
        #expect(try CalendarInterval.parseTime("24:00") == 1440)
        #expect(evening.contains(utc("2026-07-01 23:59")))
        #expect(evening.contains(utc("2026-07-01 17:00")))
        #expect(!evening.contains(utc("2026-07-01 16:59")))
        #expect(!evening.contains(utc("2026-07-02 00:00")))
    }

    @Test("an entry needs every present field to match")
    func allFieldsMustMatch() throws {
        let offhours = try entry(
            times: [("17:00", "24:00")], weekdays: ["monday:friday"], daysOfMonth: ["1:5"],
            months: ["january:march"], years: ["2026"], location: "Europe/Berlin")
        #expect(offhours.contains(utc("2026-01-05 17:30")))   // Monday 5 Jan, 18:30 in Berlin
        #expect(!offhours.contains(utc("2026-01-05 15:30")))  // 16:30: wrong time
        #expect(!offhours.contains(utc("2026-01-03 17:30")))  // Saturday
        #expect(!offhours.contains(utc("2026-01-06 17:30")))  // day 6
        #expect(!offhours.contains(utc("2026-04-01 17:30")))  // April
        #expect(!offhours.contains(utc("2027-01-05 17:30")))  // 2027
    }

    @Test("an entry with no fields contains every instant")
    func emptyEntry() {
        #expect(CalendarInterval().contains(utc("2026-01-01 00:00")))
        #expect(CalendarInterval().contains(utc("1999-12-31 23:59")))
    }

    @Test("without a location fields are read in UTC")
    func defaultsToUTC() throws {
        let morning = try entry(times: [("00:00", "01:00")])
        #expect(morning.contains(utc("2026-06-01 00:30")))
        #expect(!morning.contains(utc("2026-06-01 01:30")))
        #expect(try CalendarInterval.parseLocation("") == CalendarInterval().location)
        #expect(try CalendarInterval.parseLocation("UTC") == CalendarInterval().location)
        #expect(try CalendarInterval.parseLocation("Local") == TimeZone.current)
    }
}

@Suite("Named time intervals")
struct NamedTimeIntervalTests {
    @Test("a named interval matches when any of its entries does, each in its own location")
    func anyEntry() throws {
        let oncall = NamedTimeInterval(name: "oncall-quiet", intervals: [
            try entry(times: [("22:00", "24:00")], location: "America/New_York"),
            try entry(weekdays: ["sunday"], location: "Asia/Tokyo"),
        ])
        // 2026-06-03 (Wednesday) 02:30 UTC is 22:30 EDT on Tuesday.
        #expect(oncall.contains(utc("2026-06-03 02:30")))
        // Saturday 2026-06-06 15:30 UTC is Sunday 00:30 in Tokyo.
        #expect(oncall.contains(utc("2026-06-06 15:30")))
        // Saturday 2026-06-06 12:00 UTC: 08:00 in New York, Saturday 21:00 in Tokyo.
        #expect(!oncall.contains(utc("2026-06-06 12:00")))
    }

    @Test("a named interval without entries matches nothing")
    func noEntries() {
        #expect(!NamedTimeInterval(name: "never", intervals: []).contains(utc("2026-06-06 12:00")))
    }
}

@Suite("Rejecting bad values with a message that names them")
struct CalendarIntervalParsingErrorTests {
    @Test("times must be two-digit HH:MM from 00:00 to 24:00", arguments: ["9:00", "24:01", "23:60", "12:5", "noon", "", "12:00:00", "-1:00"])
    func badTimes(text: String) {
        #expect(rejection(text, CalendarInterval.parseTime)
            == "\(String(reflecting: text)) is not a time of day: expected HH:MM from 00:00 to 24:00")
    }

    @Test("times parse to minutes since midnight")
    func goodTimes() throws {
        #expect(try CalendarInterval.parseTime("00:00") == 0)
        #expect(try CalendarInterval.parseTime("09:30") == 570)
        #expect(try CalendarInterval.parseTime("23:59") == 1439)
    }

    @Test("an unknown weekday is named, even inside a range")
    func badWeekday() {
        #expect(rejection("funday", CalendarInterval.parseWeekdayRange) == #""funday" is not a weekday"#)
        #expect(rejection("monday:funday", CalendarInterval.parseWeekdayRange) == #""funday" is not a weekday"#)
        #expect(rejection("1", CalendarInterval.parseWeekdayRange) == #""1" is not a weekday"#)
    }

    @Test("saturday:sunday is refused because weeks run sunday to saturday")
    func backwardsWeekend() {
        let message = rejection("saturday:sunday", CalendarInterval.parseWeekdayRange)
        #expect(message?.hasPrefix(#"weekday range "saturday:sunday" goes backwards"#) == true)
    }

    @Test("a range with more than one colon is refused")
    func tooManyColons() {
        #expect(rejection("monday:tuesday:friday", CalendarInterval.parseWeekdayRange)
            == #""monday:tuesday:friday" is not a range: expected one value or start:end"#)
        #expect(rejection("1:2:3", CalendarInterval.parseDayOfMonthRange)
            == #""1:2:3" is not a range: expected one value or start:end"#)
    }

    @Test("days of the month must be 1…31 or -31…-1", arguments: ["0", "32", "-32", "first", "", "1:"])
    func badDays(text: String) {
        let bad = text == "1:" ? "" : text
        #expect(rejection(text, CalendarInterval.parseDayOfMonthRange)
            == "\(String(reflecting: bad)) is not a day of the month: expected 1 to 31, or -31 to -1 counting back from the last day")
    }

    @Test("a negative start needs a negative end, as in Alertmanager")
    func mixedSigns() throws {
        #expect(rejection("-3:5", CalendarInterval.parseDayOfMonthRange)?.hasPrefix(#"day-of-month range "-3:5""#) == true)
        #expect(try CalendarInterval.parseDayOfMonthRange("1:-1") == .init(start: 1, end: -1))
        #expect(try CalendarInterval.parseDayOfMonthRange("-3:-1") == .init(start: -3, end: -1))
    }

    @Test("day ranges that end before they start are refused, using Alertmanager's 28 + day check")
    func backwardsDays() throws {
        #expect(rejection("20:10", CalendarInterval.parseDayOfMonthRange)
            == #"day-of-month range "20:10" ends before it starts: 10 is before 20"#)
        #expect(rejection("-1:-3", CalendarInterval.parseDayOfMonthRange)
            == #"day-of-month range "-1:-3" ends before it starts: negative days are checked as 28 + day, which puts -3 at day 25, before day 27"#)
        // Alertmanager's estimate rejects this although every month has a day 28.
        #expect(rejection("28:-1", CalendarInterval.parseDayOfMonthRange)
            == #"day-of-month range "28:-1" ends before it starts: negative days are checked as 28 + day, which puts -1 at day 27, before 28"#)
        #expect(try CalendarInterval.parseDayOfMonthRange("27:-1") == .init(start: 27, end: -1))
    }

    @Test("months must be names or 1…12 and run forwards")
    func badMonths() {
        #expect(rejection("smarch", CalendarInterval.parseMonthRange)
            == #""smarch" is not a month: expected january to december or 1 to 12"#)
        #expect(rejection("13", CalendarInterval.parseMonthRange)
            == #""13" is not a month: expected january to december or 1 to 12"#)
        #expect(rejection("december:february", CalendarInterval.parseMonthRange)
            == #"month range "december:february" goes backwards: february is before december; split a range across the new year in two"#)
    }

    @Test("years must be positive numbers and run forwards")
    func badYears() {
        #expect(rejection("next", CalendarInterval.parseYearRange) == #""next" is not a year"#)
        #expect(rejection("0", CalendarInterval.parseYearRange) == #""0" is not a year"#)
        #expect(rejection("2026:2024", CalendarInterval.parseYearRange)
            == #"year range "2026:2024" goes backwards: 2024 is before 2026"#)
    }

    @Test("locations must be time zone names this system knows")
    func badLocations() throws {
        #expect(rejection("Mars/Olympus_Mons", CalendarInterval.parseLocation)
            == #""Mars/Olympus_Mons" is not a time zone in this system's time zone database"#)
        #expect(rejection("europe/berlin", CalendarInterval.parseLocation)
            == #""europe/berlin" is not a time zone in this system's time zone database"#)
        #expect(rejection("GMT+2", CalendarInterval.parseLocation)
            == #""GMT+2" is not an IANA time zone name: fixed offsets are written like Etc/GMT-2 (the sign is inverted)"#)
        #expect(try CalendarInterval.parseLocation("Etc/GMT-2").secondsFromGMT(for: utc("2026-01-01 00:00")) == 7200)
        #expect(try CalendarInterval.parseLocation("Europe/Berlin").identifier == "Europe/Berlin")
    }
}
