import ArgumentParser
import Foundation

/// `nats-alerter-bench`: the benchmark harness (`scripts/bench.sh` runs it).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nats-alerter-bench",
        abstract: "Benchmarks nats-alerter against the raw NATS limit and Prometheus Alertmanager, on loopback.",
        subcommands: [Run.self, Publish.self, Count.self, Receive.self],
        defaultSubcommand: Run.self
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run every scenario; print a markdown table and write JSON.")

        @Flag(help: "Smaller counts and shorter phases (a check after a change).")
        var quick = false
        @Option(help: "The nats-alerter binary to measure.")
        var binary = ".build/release/nats-alerter"
        @Option(help: "Where to write the results as JSON.")
        var out = "bench-results.json"
        @Option(help: "The configuration whose rules `bench-rules` measures.")
        var rulesConfig = "config/alerter.yaml"
        @Option(help: "Only these scenarios (comma-separated: core,jetstream,latency,memory,reads,scale,peer,startup,rules).")
        var only: String?
        @Option(help: "Core ingest also runs the storm split over this many subjects, one subscription each (comma-separated; 1 = none).")
        var subscriptions = "4"

        func run() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nats-alerter-bench-\(getpid())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let benchBinary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
            let bench = BenchRun(quick: quick, binary: URL(fileURLWithPath: binary).standardizedFileURL.path, benchBinary: benchBinary, directory: directory)
            bench.subscriptions = subscriptions.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let selected = Set((only ?? "core,jetstream,latency,memory,reads,scale,peer,startup,rules").split(separator: ",").map(String.init))
            let started = Date()
            try bench.startNATS()
            defer { bench.stopNATS() }
            var failures: [String] = []
            func attempt(_ name: String, _ body: () async throws -> Void) async {
                guard selected.contains(name) else { return }
                do { try await body() } catch {
                    failures.append("\(name): \(error)")
                    bench.log("scenario \(name) failed: \(error)")
                }
            }
            await attempt("core") { try bench.coreIngest() }
            await attempt("jetstream") { try bench.jetStreamIngest() }
            await attempt("latency") { try bench.latency() }
            await attempt("memory") { try bench.memory() }
            await attempt("reads") { try bench.readsUnderLoad() }
            await attempt("scale") { try bench.scale() }
            await attempt("peer") {
                let storm = bench.rows.first { $0.scenario == "2 core ingest" }?.value
                try await bench.peer(coreRate: storm)
            }
            await attempt("startup") { try bench.startup() }
            await attempt("rules") { try bench.rules(config: rulesConfig) }
            let elapsed = Date().timeIntervalSince(started)
            print(Report.markdown(bench.rows, quick: quick, seconds: elapsed))
            try Report.json(bench.rows, quick: quick, seconds: elapsed, failures: failures).write(to: URL(fileURLWithPath: out))
            if failures.isEmpty && ProcessInfo.processInfo.environment["BENCH_KEEP_LOGS"] == nil {
                try? FileManager.default.removeItem(at: directory)
            } else {
                bench.log("logs kept in \(directory.path)")
                if !failures.isEmpty { throw ExitCode(1) }
            }
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The load generator: publish realistic AlertEvents (about 250 bytes) flat out or at a rate.")

        @Option var server = "nats://127.0.0.1:4222"
        @Option var subject = "bench.events"
        @Option(help: "Events to publish (at most 100,000,000).")
        var count = 1_000_000
        @Option(help: "Events per second; 0 = as fast as possible.")
        var rate: Double = 0
        @Option(help: "Distinct fingerprints (alerts) the events cycle over.")
        var distinct = 1_000
        @Option(help: "Every Nth event is a RESOLVED one (0 = none).")
        var resolveEvery = 0
        @Option(help: "Stop after this many seconds whatever the count.")
        var maxSeconds: Double = 300

        func validate() throws {
            guard (1...100_000_000).contains(count), distinct >= 1, rate >= 0, maxSeconds > 0 else {
                throw ValidationError("--count 1…100000000, --distinct ≥ 1, --rate ≥ 0, --max-seconds > 0")
            }
        }

        func run() throws {
            let connection = try RawConnection(url: server, name: "nats-alerter-bench-publisher")
            let shape = LoadShape(distinct: distinct, resolveEvery: resolveEvery)
            let result = try Publisher(connection: connection, subject: subject, shape: shape)
                .run(count: count, rate: rate, encodeEach: distinct > 200_000, maxSeconds: maxSeconds)
            print(#"{"published":\#(result.published),"payload_bytes":\#(result.payloadBytes),"seconds":\#(result.seconds),"rate":\#(Int(result.rate))}"#)
        }
    }

    struct Count: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A minimal libnats subscriber (core or JetStream) that only counts; prints one JSON line.")

        @Option var server: String
        @Option var subject: String
        @Option var expect: Int
        @Option(help: "JetStream stream: consume it with a durable push consumer, manual ack.")
        var stream: String?
        @Option var durable = "raw-counter"
        @Flag(help: "JetStream: an AckNone consumer (measures what the per-message +ACK costs).")
        var noAck = false
        @Option(help: "Stop this long after the last message.")
        var idle: Double = 2
        @Option var timeout: Double = 300

        func run() throws {
            let connection = try RawConnection(url: server, name: "bench-counter")
            let subscription = try stream.map { try CountingSubscription(connection: connection, stream: $0, subject: subject, durable: durable, acknowledge: !noAck) }
                ?? CountingSubscription(connection: connection, subject: subject)
            try connection.flush()
            FileHandle.standardOutput.write(Data("subscribed\n".utf8))
            let counter = subscription.counter
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let count = counter.count.load(ordering: .relaxed)
                if count >= expect { break }
                let last = counter.lastNanos.load(ordering: .relaxed)
                if count > 0 && Double(wallNanos() - last) / 1e9 > idle { break }
                usleep(5_000)
            }
            FileHandle.standardOutput.write(Data((#"{"received":\#(counter.count.load(ordering: .relaxed)),"first_ns":\#(counter.firstNanos.load(ordering: .relaxed)),"last_ns":\#(counter.lastNanos.load(ordering: .relaxed)),"dropped":\#(subscription.dropped)}"# + "\n").utf8))
            withExtendedLifetime(subscription) {}
        }
    }

    struct Receive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A webhook receiver measuring publish → receive latency (GET /stats, /reset).")

        @Option var port: Int

        func run() async throws {
            try await LatencyReceiver(port: port).run()
        }
    }
}
