import AlertTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real nats-server (Debian's) on a free loopback port, with JetStream and
/// a data directory of its own. Can be stopped and started again on the same
/// port, to test reconnects.
final class NATSServer: Sendable {
    let port: Int
    let directory: URL
    let extraArguments: [String]
    private let current = LockedBox<ChildProcess?>(nil)

    var url: String { "nats://127.0.0.1:\(port)" }

    init(directory: URL, port: Int = freeLoopbackPort(), extraArguments: [String] = []) {
        self.port = port
        self.directory = directory
        self.extraArguments = extraArguments
    }

    /// Starts a server; `extraArguments` go to nats-server (e.g. `--user`, `--auth`).
    static func start(in directory: URL, extraArguments: [String] = []) async throws -> NATSServer {
        for _ in 0..<3 {
            let server = NATSServer(directory: directory, extraArguments: extraArguments)
            if (try? await server.start()) != nil { return server }
        }
        throw HarnessError("nats-server did not start after 3 attempts")
    }

    func start() async throws {
        let process = try ChildProcess(
            name: "nats-server", executable: "/usr/sbin/nats-server",
            arguments: ["-a", "127.0.0.1", "-p", "\(port)", "-js", "-sd", directory.appendingPathComponent("nats-data").path] + extraArguments,
            directory: directory
        )
        current.set(process)
        guard await waitUntil(timeout: .seconds(10), { isListening(port) || !process.isRunning }) else {
            throw HarnessError("nats-server on port \(port) did not listen:\n\(process.output)")
        }
        // Another test may have taken the port between our choosing and
        // binding it: then our server exits, and the listener is not ours.
        try? await Task.sleep(for: .milliseconds(150))
        guard process.isRunning, process.output.contains("Server is ready") else {
            process.kill()
            current.set(nil)
            throw HarnessError("nats-server could not use port \(port):\n\(process.output.suffix(500))")
        }
    }

    func stop() async {
        await current.get()?.stop()
        current.set(nil)
    }

    /// Kills the server now; for cleanup in `defer`.
    func kill() {
        current.get()?.kill()
        current.set(nil)
    }
}

/// A real Prometheus Alertmanager (Debian's) on a free loopback port, with
/// clustering off and storage in the test's directory.
final class AlertmanagerServer: Sendable {
    let port: Int
    let process: ChildProcess

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// - Parameter port: a fixed port (to bring a stopped Alertmanager "back"); a free one by default.
    init(directory: URL, config: String = "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n", port: Int? = nil) async throws {
        let configFile = directory.appendingPathComponent("alertmanager.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        self.port = port ?? freeLoopbackPort()
        let binary = ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw HarnessError("prometheus-alertmanager is not installed (scripts/setup.sh --test)") }
        self.process = try ChildProcess(
            name: "alertmanager", executable: binary,
            arguments: [
                "--config.file=\(configFile.path)", "--storage.path=\(directory.appendingPathComponent("am-data").path)",
                "--web.listen-address=127.0.0.1:\(self.port)", "--cluster.listen-address=",
            ],
            directory: directory
        )
        let port = self.port
        let process = self.process
        guard await waitUntil(timeout: .seconds(15), { isListening(port) || !process.isRunning }), process.isRunning else {
            throw HarnessError("alertmanager did not listen on \(port):\n\(process.output)")
        }
    }
}

/// The built nats-alerter binary, run with a config written by the test.
final class AlerterProcess: Sendable {
    let process: ChildProcess
    /// The config file it was started with (tests rewrite it for reloads).
    let configFile: URL?
    /// The HTTP API's port (`server.listen_address`).
    let httpPort: Int

    static var binary: String {
        ProcessInfo.processInfo.environment["NATS_ALERTER_BINARY"]
            ?? packageRoot.appendingPathComponent(".build/debug/nats-alerter").path
    }

    /// Without a `server:` section the service gets a free HTTP port, so tests run in parallel.
    init(config: String, directory: URL, arguments: [String] = []) throws {
        let configFile = directory.appendingPathComponent("alerter-\(UUID().uuidString.prefix(8)).yaml")
        var config = config
        if !config.hasPrefix("server:") && !config.contains("\nserver:") {
            let port = freeLoopbackPort()
            config += "\nserver: {listen_address: \"127.0.0.1:\(port)\"}\n"
            httpPort = port
        } else {
            let match = config.firstMatch(of: /listen_address: *"?[0-9.]*:([0-9]+)/)
            httpPort = match.flatMap { Int($0.1) } ?? 9094
        }
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        self.configFile = configFile
        process = try ChildProcess(
            name: "nats-alerter", executable: Self.binary,
            arguments: ["run", "--config", configFile.path] + arguments, directory: directory
        )
    }

    /// Polls `/-/ready` until it answers 200; false after `timeout`.
    func waitUntilReady(timeout: Duration = .seconds(15)) async -> Bool {
        let url = URL(string: "http://127.0.0.1:\(httpPort)/-/ready")!
        return await waitUntilAsync(timeout: timeout) {
            guard let (_, response) = try? await URLSession.shared.data(from: url) else { return false }
            return (response as? HTTPURLResponse)?.statusCode == 200
        }
    }

    /// Runs a nats-alerter subcommand to completion; returns its status and output.
    /// Bounded at 120 s: a hang still fails, but `nats-alerter test` of the
    /// shipped files takes 6–10 s of a debug build on an idle machine (each
    /// simulated step hops to the engine thread and back) and a loaded CI
    /// machine stretched it past the 30 s this used to allow.
    static func run(_ arguments: [String], directory: URL) async throws -> (status: Int32, output: String) {
        let child = try ChildProcess(name: "nats-alerter-\(arguments.first ?? "cmd")", executable: binary, arguments: arguments, directory: directory)
        let status = try await child.waitForExit(timeout: .seconds(120))
        return (status, child.output)
    }
}

/// A tiny lock-protected box for harness state.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
