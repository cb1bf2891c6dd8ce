public import AlertCore
public import Foundation

/// A scenario file of `nats-alerter test` (docs/testing-configs.md): a
/// configuration and scenarios to run against it on a virtual clock.
public struct ScenarioFile: Sendable {
    public var path: String
    public var config: AlerterConfig
    public var scenarios: [ConfigScenario]
}

/// One scripted run: what arrives when, and the notifications expected.
/// Times are seconds after the scenario's start.
public struct ConfigScenario: Sendable {
    public var name: String
    /// `scenarios[i]`, and its line in the file.
    public var path: String
    public var line: Int?
    public var start: Date
    public var inputs: [TimedInput]
    public var expectations: [ExpectedNotification]
    /// The clock runs to here; anything sent up to here and not expected is a failure.
    public var until: Double

    /// 2027-01-15T08:00:00Z, a Friday morning (inside usual business-hours intervals).
    public static let defaultStart = Date(timeIntervalSince1970: 1_800_000_000)
}

/// An event, sample or silence at a time of the scenario.
public struct TimedInput: Sendable {
    public enum Input: Sendable {
        case event(AlertEvent)
        case sample(MetricSample)
        case silence(matchers: [Matcher], duration: Duration, comment: String)
    }

    public var at: Double
    public var input: Input
    public var path: String
}

/// A notification the scenario expects, as one integration sends it.
public struct ExpectedNotification: Sendable {
    public var at: Double
    public var receiver: String
    /// `slack`, `slack/0` or `slack[0]`; nil: every integration of the receiver.
    public var integration: String?
    /// The group labels exactly, when given.
    public var group: [String: String]?
    /// Each entry names labels an alert has (a plain string is its alertname).
    public var firing: [[String: String]]
    public var resolved: [[String: String]]
    /// `scenarios[i].expect[j]`, and its line in the file.
    public var path: String
    public var line: Int?
}
