import AlertCore
import Foundation
import Testing

@Suite("RFC 3339 timestamps with milliseconds")
struct RFC3339Tests {
    @Test("a publisher's occurred_at_unix_ms reads back exactly, whatever the binary fraction")
    func exactMilliseconds() {
        // 1795325963.225 is 1795325963.2249999… as a Double: truncation gave .224.
        #expect(Date(timeIntervalSince1970: Double(1_795_325_963_225) / 1000).rfc3339Milliseconds == "2026-11-22T05:39:23.225Z")
        for milliseconds in stride(from: Int64(1_795_325_963_000), to: 1_795_325_964_000, by: 1) {
            let text = Date(timeIntervalSince1970: Double(milliseconds) / 1000).rfc3339Milliseconds
            #expect(text.hasSuffix(String(format: ".%03dZ", Int(milliseconds % 1000))), "\(milliseconds) → \(text)")
        }
    }

    @Test("whole seconds, the epoch and times before it")
    func edges() {
        #expect(Date(timeIntervalSince1970: 0).rfc3339Milliseconds == "1970-01-01T00:00:00.000Z")
        #expect(Date(timeIntervalSince1970: -0.001).rfc3339Milliseconds == "1969-12-31T23:59:59.999Z")
        #expect(Date(timeIntervalSince1970: 59.9996).rfc3339Milliseconds == "1970-01-01T00:01:00.000Z")
    }

    @Test("any Date prints without trapping: out-of-range and non-finite times are clamped to years 1 and 9999")
    func total() {
        #expect(Date(timeIntervalSince1970: 9_223_372_036_854_775.807).rfc3339Milliseconds == "9999-12-31T23:59:59.999Z")
        // (Foundation prints year 1 in the Julian calendar: the day may read 01-03.)
        #expect(Date(timeIntervalSince1970: -9_223_372_036_854_775.807).rfc3339Milliseconds.hasPrefix("0001-01-0"))
        #expect(Date(timeIntervalSince1970: .infinity).rfc3339Milliseconds == "9999-12-31T23:59:59.999Z")
        #expect(Date(timeIntervalSince1970: .nan).rfc3339Milliseconds == "1970-01-01T00:00:00.000Z")
        #expect(Date(timeIntervalSince1970: 95_617_584_000).rfc3339Milliseconds == "5000-01-01T00:00:00.000Z")
    }

    @Test("parsing: RFC 3339 only; a 60-digit fraction (SIGFPE inside ICU once) is cut to nanoseconds first")
    func parsing() {
        #expect(Date(rfc3339: "2026-11-22T05:39:23.225Z")?.rfc3339Milliseconds == "2026-11-22T05:39:23.225Z")
        #expect(Date(rfc3339: "2026-11-22T05:39:23+01:00")?.rfc3339Milliseconds == "2026-11-22T04:39:23.000Z")
        #expect(Date(rfc3339: "2026-11-22T05:39:23." + String(repeating: "9", count: 60) + "Z") != nil)
        for bad in ["", "yesterday", "2026-11-22", "2026-11-22T05:39:23", "2026-11-22T05:39:23.Z", String(repeating: "9", count: 100)] {
            #expect(Date(rfc3339: bad) == nil, "\(bad)")
        }
    }
}
