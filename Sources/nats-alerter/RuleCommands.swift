import AlertCore
import AlertIngest
import AlertService
import ArgumentParser
import Foundation
import Logging
import Synchronization

extension NatsAlerter {
    struct SendSample: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-sample",
            abstract: "Publish one MetricSample (protobuf by default), to try the event-stream rules without writing a monitor."
        )

        @Option(help: "NATS subject to publish on.")
        var subject: String

        @Option(help: "The measured value.")
        var value: Double

        @Option(help: "What was measured (rules may select on it with `metric`).")
        var name: String = ""

        @Option(name: .customLong("label"), help: "A label as name=value; repeatable.")
        var labels: [String] = []

        @Option(help: "Training/simulation iteration.")
        var iteration: Int64?

        @Option(help: "Emitting service or instance.")
        var source: String = ""

        @Flag(help: "Send the JSON form with Content-Type: application/json.")
        var json = false

        @Option(help: "NATS server URL.")
        var server: String = "nats://127.0.0.1:4222"

        func validate() throws {
            if let problem = ConfigLoader.validateServerURL(server) { throw ValidationError("--server: \(problem)") }
            if let problem = ConfigLoader.validateSubject(subject, wildcards: false) { throw ValidationError("--subject: \(problem)") }
            for pair in labels where !pair.contains("=") { throw ValidationError("\"\(pair)\" is not name=value") }
        }

        func run() async throws {
            let sample = MetricSample(name: name, value: value, labels: Send.pairs(labels), iteration: iteration,
                                      occurredAtUnixMs: Int64(Date().timeIntervalSince1970 * 1000), source: source, subject: subject)
            do throws(EventRejection) {
                try sample.validate(.default)
            } catch {
                throw ValidationError("the service would reject this sample: \(error.detail)")
            }
            LoggingBootstrap.bootstrap(format: .text, level: .warning)
            let logger = Logger(label: "nats-alerter.send-sample")
            var configuration = NATSConnectionConfiguration(servers: [server], name: "nats-alerter-send-sample")
            configuration.retryOnFailedConnect = false
            configuration.maxReconnectAttempts = 0
            let settings = configuration
            let connection = try await runBlocking { () throws(NATSError) in
                try NATSConnection(configuration: settings, logger: logger)
            }
            let payload: [UInt8]
            if json {
                var object: [String: Any] = ["value": value]
                if !name.isEmpty { object["name"] = name }
                if !sample.labels.isEmpty { object["labels"] = sample.labels }
                if let iteration { object["iteration"] = String(iteration) }
                if !source.isEmpty { object["source"] = source }
                object["occurredAtUnixMs"] = String(sample.occurredAtUnixMs)
                payload = [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            } else {
                payload = ProtobufSampleEncoder.encode(sample)
            }
            try connection.publish(subject: subject, payload: payload, headers: json ? [("Content-Type", "application/json")] : [])
            try await runBlocking { () throws(NATSError) in try connection.flush(timeout: .seconds(5)) }
            connection.close()
            print("published sample \(value) on \(subject) (\(payload.count) bytes, \(json ? "JSON" : "protobuf"))")
        }
    }

    /// The rules benchmark (`scripts/bench.sh` calls it): evaluation cost per
    /// sample, with and without decoding, over a virtual clock.
    struct BenchRules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-rules",
            abstract: "Measure event-stream rule evaluation cost per sample.",
            shouldDisplay: false
        )

        @OptionGroup var options: ConfigOption

        @Option(help: "Iterations of history (each one sample per rule and series).")
        var iterations: Int = 1000

        @Option(help: "Series per rule (distinct `worker` label values).")
        var series: Int = 1

        @Option(help: "Repeat the measurement this many times and report the best.")
        var repeats: Int = 5

        func validate() throws {
            guard iterations >= 1, series >= 1, repeats >= 1 else { throw ValidationError("--iterations, --series and --repeats must be at least 1") }
        }

        func run() async throws {
            let rules: [EventRule]
            do {
                rules = try ConfigLoader.load(path: options.config).rules
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
            guard !rules.isEmpty else {
                FileHandle.standardError.write(Data("\(options.config): no rules to measure\n".utf8))
                throw ExitCode(1)
            }
            let result = RuleBenchmark(rules: rules, iterations: iterations, series: series).run(repeats: repeats)
            print("""
                rules: \(rules.count) from \(options.config); \(series) series per rule; \(iterations) iterations of history (\(result.samples) samples)
                evaluate only (RuleEvaluator.observe):      \(RuleBenchmark.number(result.evaluateSeconds * 1e3)) ms total, \(RuleBenchmark.number(result.evaluateSeconds / Double(result.samples) * 1e9)) ns/sample (values crossing thresholds: \(result.transitions) alert transitions)
                evaluate only, steady (value 50 throughout): \(RuleBenchmark.number(result.steadySeconds * 1e3)) ms total, \(RuleBenchmark.number(result.steadySeconds / Double(result.samples) * 1e9)) ns/sample
                decode + validate + evaluate (protobuf):    \(RuleBenchmark.number(result.ingestSeconds * 1e3)) ms total, \(RuleBenchmark.number(result.ingestSeconds / Double(result.samples) * 1e9)) ns/sample (values crossing thresholds)
                """)
        }
    }
}

/// Feeds every rule a synthetic sample stream (values swinging across the
/// thresholds, so alerts fire and resolve too) on a virtual clock.
struct RuleBenchmark {
    let rules: [EventRule]
    let iterations: Int
    let series: Int

    struct Result {
        var samples = 0
        var evaluateSeconds = Double.infinity
        var steadySeconds = Double.infinity
        var ingestSeconds = Double.infinity
        var transitions = 0
    }

    final class VirtualClock: WallClock {
        let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func now() -> Date { time.withLock { $0 } }
        func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    func run(repeats: Int) -> Result {
        // One sample per (rule, series), prebuilt: the benchmark measures evaluation, not generation.
        var samples: [MetricSample] = []
        for rule in rules where !rule.kind.readsEvents {
            let subject = (rule.subjects.first?.description ?? "bench")
                .split(separator: ".").map { $0 == "*" || $0 == ">" ? "x" : String($0) }.joined(separator: ".")
            for index in 0..<series {
                var labels: [String: String] = [:]
                for name in rule.groupBy { labels[name] = "\(name)-\(index)" }
                for matcher in rule.matchers where !matcher.type.isNegative && !matcher.type.isRegex { labels[matcher.name] = matcher.value }
                samples.append(MetricSample(name: rule.metric ?? "", value: 0, labels: labels, subject: subject))
            }
        }
        let payloadsPerIteration = 4
        var result = Result()
        for _ in 0..<repeats {
            // Evaluation alone.
            do {
                let store = AlertStore()
                let evaluator = RuleEvaluator(rules: rules, store: store, journal: StateJournal())
                var now = Date(timeIntervalSince1970: 1_800_000_000)
                var transitions = 0
                let start = ContinuousClock.now
                for iteration in 0..<iterations {
                    for var sample in samples {
                        sample.value = Self.value(iteration)
                        sample.iteration = Int64(iteration)
                        transitions += evaluator.observe(sample, at: now).count
                    }
                    transitions += evaluator.advance(to: now).count
                    now = now.addingTimeInterval(1)
                }
                result.evaluateSeconds = min(result.evaluateSeconds, Self.seconds(start.duration(to: .now)))
                result.transitions = transitions
                result.samples = samples.count * iterations
            }
            // Steady state: a constant value, so alerts fire at most once and are then only updated.
            do {
                let evaluator = RuleEvaluator(rules: rules, store: AlertStore(), journal: StateJournal())
                var now = Date(timeIntervalSince1970: 1_800_000_000)
                let start = ContinuousClock.now
                for iteration in 0..<iterations {
                    for var sample in samples {
                        sample.value = 50
                        sample.iteration = Int64(iteration)
                        _ = evaluator.observe(sample, at: now)
                    }
                    _ = evaluator.advance(to: now)
                    now = now.addingTimeInterval(1)
                }
                result.steadySeconds = min(result.steadySeconds, Self.seconds(start.duration(to: .now)))
            }
            // The ingest thread's whole path from protobuf bytes.
            do {
                let store = AlertStore()
                let evaluator = RuleEvaluator(rules: rules, store: store, journal: StateJournal())
                let clock = VirtualClock()
                let ingestor = SampleIngestor(rules: evaluator, transitions: AlertTransitionBuffer(), clock: clock,
                                              logger: Logger(label: "bench"))
                // A few distinct values, encoded in advance.
                let encoded: [[[UInt8]]] = samples.map { sample in
                    (0..<payloadsPerIteration).map { k in
                        var copy = sample
                        copy.value = Self.value(k * 7)
                        return ProtobufSampleEncoder.encode(copy)
                    }
                }
                let start = ContinuousClock.now
                for iteration in 0..<iterations {
                    for (index, sample) in samples.enumerated() {
                        encoded[index][iteration % payloadsPerIteration].withUnsafeBytes { bytes in
                            ingestor.process(subject: sample.subject, payload: bytes, contentType: nil)
                        }
                    }
                    _ = evaluator.advance(to: clock.now())
                    clock.advance(1)
                }
                result.ingestSeconds = min(result.ingestSeconds, Self.seconds(start.duration(to: .now)))
            }
        }
        return result
    }

    /// Swings between 0 and 100 with a period of 40 iterations.
    static func value(_ iteration: Int) -> Double {
        let phase = iteration % 40
        return phase < 20 ? Double(phase) * 5 : Double(40 - phase) * 5 / 100
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func number(_ value: Double) -> String {
        String(format: value >= 100 ? "%.0f" : value >= 1 ? "%.2f" : "%.4g", value)
    }
}
