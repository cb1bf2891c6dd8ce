public import AlertCore
import Foundation
import Logging

/// A notification as one integration would send it, captured instead of sent.
public struct CapturedNotification: Sendable, Equatable {
    /// Seconds after the scenario's start.
    public var at: Double
    public var receiver: String
    /// `kind/index`, nil for a receiver without integrations.
    public var integration: String?
    public var groupKey: String
    public var groupLabels: LabelSet
    public var firing: [LabelSet]
    /// Empty when the integration does not send resolved alerts.
    public var resolved: [LabelSet]
}

/// Runs a scenario with the service's own pieces (`AlertingState`: store,
/// rules, engine, silences; docs/ARCHITECTURE.md, Data flow) on a virtual
/// clock: no NATS, no network; notifications are captured.
public enum ScenarioRunner {
    public static func run(_ scenario: ConfigScenario, config: AlerterConfig) async -> [CapturedNotification] {
        let state = AlertingState(config: config, logger: Logger(label: "nats-alerter.test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var clock = VirtualRun(state: state, start: scenario.start)
        for input in scenario.inputs {
            await clock.run(to: input.at)
            let now = clock.now
            switch input.input {
            case .event(var event):
                // As ingest does (docs/ARCHITECTURE.md, Data flow, 1): sanitize, store, rules.
                _ = event.sanitize(receivedAt: now, limits: config.nats.limits)
                var batch = [state.store.apply(event, receivedAt: now)]
                batch += state.rules.observe(event, at: now)
                await clock.step(batch)
            case .sample(let sample):
                await clock.step(state.rules.observe(sample, at: now))
            case .silence(let matchers, let duration, let comment):
                let silence = Silence(matchers: matchers, startsAt: now, endsAt: now.addingTimeInterval(duration.seconds),
                                      createdBy: "nats-alerter test", comment: comment)
                _ = try? state.silencer.upsert(silence, now: now)
                await clock.step([])
            }
        }
        await clock.run(to: scenario.until)
        return clock.captured
    }
}

/// The engine loop's step (docs/ARCHITECTURE.md, Data flow, 4) driven by a
/// virtual clock that stops at every engine and rule deadline.
private struct VirtualRun {
    let state: AlertingState
    let start: Date
    private(set) var now: Date
    private(set) var captured: [CapturedNotification] = []

    init(state: AlertingState, start: Date) {
        self.state = state
        self.start = start
        self.now = start
    }

    mutating func run(to t: Double) async {
        let target = start.addingTimeInterval(t)
        while let deadline = await nextDeadline(), deadline <= target {
            now = max(now, deadline)
            await step([])
        }
        now = max(now, target)
        await step([])
    }

    func nextDeadline() async -> Date? {
        let engine = await state.engine.nextDeadline
        return [engine, state.rules.nextDeadline].compactMap { $0 }.min()
    }

    mutating func step(_ transitions: [AlertTransition]) async {
        let batch = transitions + state.rules.advance(to: now)
        let at = now.timeIntervalSince(start)
        for notification in await state.engine.step(batch, at: now) {
            captured.append(CapturedNotification(
                at: at, receiver: notification.receiver, integration: notification.integration,
                groupKey: notification.groupKey, groupLabels: notification.groupLabels,
                firing: notification.firing.map(\.alert.labels),
                resolved: notification.sendResolved ? notification.resolved.map(\.alert.labels) : []
            ))
        }
    }
}

extension ScenarioRunner {
    /// Every scenario of a file, with its verdict.
    public static func run(_ file: ScenarioFile) async -> [ScenarioVerdict] {
        var verdicts: [ScenarioVerdict] = []
        for scenario in file.scenarios {
            verdicts.append(ScenarioVerdict(scenario, sent: await run(scenario, config: file.config)))
        }
        return verdicts
    }

    /// `nats-alerter test`: reads and runs each file. Status 2 when a file
    /// is invalid (its errors by YAML path in `errors`), else 1 when a
    /// scenario failed, else 0.
    /// - Parameter showSent: print every notification sent under each scenario.
    public static func test(paths: [String], showSent: Bool = false) async -> (output: String, errors: String, status: Int32) {
        var output: [String] = [], errors: [String] = []
        var invalid = false, failed = false
        for path in paths {
            let file: ScenarioFile
            do {
                file = try ScenarioFileReader.load(path: path)
            } catch {
                errors.append("\(error)")
                invalid = true
                continue
            }
            let verdicts = await run(file)
            let failures = verdicts.filter { !$0.passed }.count
            failed = failed || failures > 0
            output.append("\(path): \(verdicts.count) scenario\(verdicts.count == 1 ? "" : "s"), "
                          + (failures == 0 ? "all passed" : "\(failures) failed"))
            output += verdicts.map { showSent ? $0.report + "\n    sent:\n" + $0.transcript : $0.report }
        }
        return (output.joined(separator: "\n"), errors.joined(separator: "\n"), invalid ? 2 : failed ? 1 : 0)
    }
}
