import AlertTestSupport
import Foundation

/// A real SMTP server (Tests/Fixtures/smtp_server.py, on Debian's aiosmtpd)
/// on a free loopback port, recording every message it accepts.
final class SMTPServer: Sendable {
    /// One accepted message, as the server saw it.
    struct Message: Sendable {
        let mailFrom: String
        let recipients: [String]
        /// The message text as received (after SMTP dot-unstuffing).
        let data: String
        let usedTLS: Bool
        let authenticatedUser: String?
        /// Decoded by Python's email package: header fields in order.
        let headers: [(name: String, value: String)]
        /// Decoded leaf MIME parts: content type, transfer encoding, text.
        let parts: [(contentType: String, transferEncoding: String, content: String)]

        func header(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
    }

    let port: Int
    let process: ChildProcess
    private let outFile: URL

    /// `host:port` for `smarthost`.
    var smarthost: String { "127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - startTLS: certificate and key files; the server offers STARTTLS only with them.
    ///   - auth: `user:password` the server requires.
    ///   - rejectRecipients: `address:code` answers to RCPT TO.
    init(directory: URL, startTLS: (certificate: URL, key: URL)? = nil, auth: String? = nil, rejectRecipients: [String] = []) async throws {
        let name = "smtp-\(UUID().uuidString.prefix(8))"
        let portFile = directory.appendingPathComponent("\(name).port")
        outFile = directory.appendingPathComponent("\(name).jsonl")
        var arguments = [packageRoot.appendingPathComponent("Tests/Fixtures/smtp_server.py").path,
                         "--port-file", portFile.path, "--out", outFile.path]
        if let startTLS { arguments += ["--starttls", startTLS.certificate.path, startTLS.key.path] }
        if let auth { arguments += ["--auth", auth] }
        for rejection in rejectRecipients { arguments += ["--reject-rcpt", rejection] }
        let process = try ChildProcess(name: "smtp-server", executable: "/usr/bin/python3", arguments: arguments, directory: directory)
        self.process = process
        let readPort = { (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) } }
        guard await waitUntil(timeout: .seconds(10), { readPort() != nil || !process.isRunning }), let port = readPort() else {
            throw HarnessError("smtp server did not start (is python3-aiosmtpd installed? scripts/setup.sh --test):\n\(process.output)")
        }
        self.port = port
    }

    var messages: [Message] {
        guard let text = try? String(contentsOf: outFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
            let headers = (object["headers"] as? [[String]] ?? []).map { ($0.first ?? "", $0.last ?? "") }
            let parts = (object["parts"] as? [[String: Any]] ?? []).map {
                ($0["content_type"] as? String ?? "", $0["transfer_encoding"] as? String ?? "", $0["content"] as? String ?? "")
            }
            return Message(
                mailFrom: object["mail_from"] as? String ?? "", recipients: object["rcpt_tos"] as? [String] ?? [],
                data: object["data"] as? String ?? "", usedTLS: object["tls"] as? Bool ?? false,
                authenticatedUser: object["auth"] as? String, headers: headers, parts: parts
            )
        }
    }
}

/// A throwaway CA and a server certificate it signed, made with Debian's
/// `openssl` in the test's directory.
struct TestCertificates {
    let caCertificate: URL
    let serverCertificate: URL
    let serverKey: URL

    /// - Parameter serverName: the only name (DNS subjectAltName) the server certificate is valid for.
    init(directory: URL, serverName: String) throws {
        caCertificate = directory.appendingPathComponent("ca.pem")
        serverCertificate = directory.appendingPathComponent("server.pem")
        serverKey = directory.appendingPathComponent("server.key")
        let caKey = directory.appendingPathComponent("ca.key")
        let request = directory.appendingPathComponent("server.csr")
        let extensions = directory.appendingPathComponent("server.ext")
        try "subjectAltName=DNS:\(serverName)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: extensions, atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", caKey.path, "-out", caCertificate.path, "-days", "2",
                                                  "-subj", "/CN=nats-alerter test CA",
                                                  "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
        try Self.openssl(["req"] + ec + ["-keyout", serverKey.path, "-out", request.path, "-subj", "/CN=\(serverName)"])
        try Self.openssl(["x509", "-req", "-in", request.path, "-CA", caCertificate.path, "-CAkey", caKey.path, "-CAcreateserial",
                          "-out", serverCertificate.path, "-days", "2", "-extfile", extensions.path])
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: output, as: UTF8.self))")
        }
    }
}
