import Foundation
import Testing

/// The built binary's HTTP listener as a browser page or a TLS client meets
/// it: HTTPS with the configured certificate (re-read on SIGHUP), and
/// cross-site writes refused while amtool-style clients keep working.
@Suite("API exposure: HTTPS listener, cross-site writes", .serialized)
struct APIExposureTests {
    /// Runs curl; returns its exit status and what it printed (body, then the status code).
    static func curl(_ arguments: [String], directory: URL) async throws -> (status: Int32, output: String) {
        let child = try ChildProcess(name: "curl", executable: "/usr/bin/curl",
                                     arguments: ["-sS", "--max-time", "10", "-w", "\n%{http_code}"] + arguments, directory: directory)
        let status = try await child.waitForExit(timeout: .seconds(20))
        return (status, child.output)
    }

    @Test("with tls_server_config the API is HTTPS only; SIGHUP serves a renewed certificate without a restart")
    func httpsListenerReloadsCertificate() async throws {
        let directory = try makeTemporaryDirectory("https")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try TestCertificates(directory: directory.appendingPathComponent("first", isDirectory: true).creatingDirectory(), serverName: "localhost")
        let second = try TestCertificates(directory: directory.appendingPathComponent("second", isDirectory: true).creatingDirectory(), serverName: "localhost")
        let served = (certificate: directory.appendingPathComponent("server.pem"), key: directory.appendingPathComponent("server.key"))
        try FileManager.default.copyItem(at: first.serverCertificate, to: served.certificate)
        try FileManager.default.copyItem(at: first.serverKey, to: served.key)
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: """
            nats: {servers: ["\(nats.url)"], subjects: ["system.>"]}
            server:
              listen_address: "127.0.0.1:\(port)"
              tls_server_config: {cert_file: server.pem, key_file: server.key}
            """, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let url = "https://localhost:\(port)/-/healthy"
        let resolve = ["--resolve", "localhost:\(port):127.0.0.1"]

        let trusted = try await Self.curl(resolve + ["--cacert", first.caCertificate.path, url], directory: directory)
        #expect(trusted.status == 0 && trusted.output == "OK\n\n200", "\(trusted.output)")
        let plain = try await Self.curl(["http://127.0.0.1:\(port)/-/healthy"], directory: directory)
        #expect(!plain.output.hasSuffix("200"), "plain HTTP must not be served: \(plain.output)")
        #expect(try await Self.curl(resolve + ["--cacert", second.caCertificate.path, url], directory: directory).status == 60)

        try FileManager.default.removeItem(at: served.certificate)
        try FileManager.default.removeItem(at: served.key)
        try FileManager.default.copyItem(at: second.serverCertificate, to: served.certificate)
        try FileManager.default.copyItem(at: second.serverKey, to: served.key)
        alerter.process.signal(SIGHUP)
        try await alerter.process.waitForOutput(containing: "HTTPS certificate and key re-read")
        let renewed = try await Self.curl(resolve + ["--cacert", second.caCertificate.path, url], directory: directory)
        #expect(renewed.status == 0 && renewed.output == "OK\n\n200", "\(renewed.output)")
        #expect(try await Self.curl(resolve + ["--cacert", first.caCertificate.path, url], directory: directory).status == 60)

        // A certificate file that no longer parses is refused; the one in use stays.
        try "not a certificate".write(to: served.certificate, atomically: true, encoding: .utf8)
        alerter.process.signal(SIGHUP)
        try await alerter.process.waitForOutput(containing: "HTTPS certificate reload failed")
        #expect(try await Self.curl(resolve + ["--cacert", second.caCertificate.path, url], directory: directory).output == "OK\n\n200")
        #expect(alerter.process.isRunning)
    }

    @Test("a browser's cross-site form post or rebound Host is refused; a JSON client without Origin creates the silence")
    func crossSiteWritesRefused() async throws {
        let directory = try makeTemporaryDirectory("cross-site")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alerter = try AlerterProcess(config: "nats: {servers: [\"\(nats.url)\"], subjects: [\"system.>\"]}\n", directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let base = "http://127.0.0.1:\(alerter.httpPort)"
        let now = Date()
        let body = """
            {"matchers":[{"name":"alertname","value":"x","isRegex":false,"isEqual":true}],"startsAt":"\(now.ISO8601Format())",\
            "endsAt":"\(now.addingTimeInterval(3600).ISO8601Format())","createdBy":"page","comment":"silence everything"}
            """
        // What an HTML form with enctype=text/plain on another site sends.
        let form = try await Self.curl(["-X", "POST", "-H", "Content-Type: text/plain", "-H", "Origin: http://evil.example",
                                        "--data-binary", body, "\(base)/api/v2/silences"], directory: directory)
        #expect(form.output.hasSuffix("415"), "\(form.output)")
        let fetch = try await Self.curl(["-X", "POST", "-H", "Content-Type: application/json", "-H", "Origin: http://evil.example",
                                         "--data-binary", body, "\(base)/api/v2/silences"], directory: directory)
        #expect(fetch.output.hasSuffix("403") && fetch.output.contains("allowed_origins"), "\(fetch.output)")
        let rebound = try await Self.curl(["-X", "POST", "-H", "Content-Type: application/json", "-H", "Host: rebind.evil.example:\(alerter.httpPort)",
                                           "--data-binary", body, "\(base)/api/v2/silences"], directory: directory)
        #expect(rebound.output.hasSuffix("403") && rebound.output.contains("allowed_hosts"), "\(rebound.output)")
        let reload = try await Self.curl(["-X", "POST", "-H", "Origin: http://evil.example", "\(base)/-/reload"], directory: directory)
        #expect(reload.output.hasSuffix("403"), "\(reload.output)")
        let listed = try await Self.curl(["\(base)/api/v2/silences"], directory: directory)
        #expect(listed.output == "[]\n200", "\(listed.output)")

        let client = try await Self.curl(["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body, "\(base)/api/v2/silences"],
                                         directory: directory)
        #expect(client.output.hasSuffix("200") && client.output.contains("silenceID"), "\(client.output)")
    }
}
