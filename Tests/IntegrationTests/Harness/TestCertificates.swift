import Foundation

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
