import Foundation
import Testing

/// The service authenticates to a real nats-server that requires it.
@Suite("Authentication against a real nats-server")
struct AuthenticationTests {
    @Test("user and password (password from a *_file) reach an authenticated server")
    func userPassword() async throws {
        let directory = try makeTemporaryDirectory("auth-user")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory, extraArguments: ["--user", "alerter", "--pass", "s3cr3t-pw"])
        defer { nats.kill() }
        try "s3cr3t-pw\n".write(to: directory.appendingPathComponent("nats-password"), atomically: true, encoding: .utf8)
        let alerter = try AlerterProcess(config: """
            nats:
              servers: ["\(nats.url)"]
              user: alerter
              password_file: nats-password
              subjects: ["system.error.>"]
            """, directory: directory)
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let sent = try await AlerterProcess.run(
            ["send", "--server", "nats://alerter:s3cr3t-pw@127.0.0.1:\(nats.port)", "--alertname", "auth_probe"], directory: directory)
        #expect(sent.status == 0, "\(sent.output)")
        try await alerter.process.waitForOutput(containing: "auth_probe")
        #expect(!alerter.process.output.contains("s3cr3t-pw"), "the password must never be logged")
        await alerter.process.stop()
    }

    @Test("a token reaches a token-protected server; a wrong token is refused with a clear error")
    func token() async throws {
        let directory = try makeTemporaryDirectory("auth-token")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory, extraArguments: ["--auth", "t0ken-value"])
        defer { nats.kill() }
        let alerter = try AlerterProcess(config: """
            nats: {servers: ["\(nats.url)"], token: t0ken-value, subjects: ["system.error.>"]}
            """, directory: directory)
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let sent = try await AlerterProcess.run(
            ["send", "--server", "nats://t0ken-value@127.0.0.1:\(nats.port)", "--alertname", "token_probe"], directory: directory)
        #expect(sent.status == 0, "\(sent.output)")
        try await alerter.process.waitForOutput(containing: "token_probe")
        await alerter.process.stop()

        let refused = try await AlerterProcess.run(
            ["send", "--server", "nats://wrong@127.0.0.1:\(nats.port)", "--alertname", "x"], directory: directory)
        #expect(refused.status != 0)
        #expect(refused.output.lowercased().contains("authentication violation"), "\(refused.output)")
    }

    @Test("run with credentials the server refuses exits 1 and names the refusal")
    func refusedAtStart() async throws {
        let directory = try makeTemporaryDirectory("auth-refused")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory, extraArguments: ["--auth", "right-token"])
        defer { nats.kill() }
        let alerter = try AlerterProcess(config: """
            nats: {servers: ["\(nats.url)"], token: wrong-token, subjects: ["system.error.>"]}
            """, directory: directory)
        #expect(try await alerter.process.waitForExit() == 1)
        #expect(alerter.process.output.contains("Authentication Violation"), "\(alerter.process.output)")
        #expect(!alerter.process.output.contains("wrong-token"), "the token must never be logged")
    }
}
