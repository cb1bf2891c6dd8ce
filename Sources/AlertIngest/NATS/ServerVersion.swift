import CNats
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The version a NATS server announces in its INFO line. libnats 3.4.1 does
/// not expose it, so this opens a second, short TCP connection to the same
/// server, reads the INFO line the server sends first (in plain text, TLS
/// or not), and closes. Blocking; at most `timeout` per attempt.
public struct NATSServerVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// "2.9.10", "2.11.0-beta.1" (the suffix is ignored); nil otherwise.
    public init?(_ text: String) {
        let numbers = text.split(separator: "-").first.map { $0.split(separator: ".").map { Int($0) } } ?? []
        guard numbers.count >= 3, let major = numbers[0], let minor = numbers[1], let patch = numbers[2] else { return nil }
        self.init(major: major, minor: minor, patch: patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }

    /// Reads the version of the server at `url` (`nats://host:port`, `tls://…`).
    public static func probe(url: String, timeout: Duration = .seconds(2)) -> NATSServerVersion? {
        guard let components = URLComponents(string: url), let host = components.host else { return nil }
        let port = components.port ?? 4222
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else { return nil }
        defer { freeaddrinfo(first) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !line.contains(UInt8(ascii: "\n")) && line.count < 64 << 10 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            line += buffer[..<count]
        }
        guard line.starts(with: Array("INFO ".utf8)), let end = line.firstIndex(of: UInt8(ascii: "\n")),
              let object = try? JSONSerialization.jsonObject(with: Data(line[5..<end])) as? [String: Any],
              let version = object["version"] as? String else { return nil }
        return NATSServerVersion(version)
    }
}

extension NATSConnection {
    /// The version of the server this connection is on (see `NATSServerVersion`). Blocking.
    public func serverVersion() -> NATSServerVersion? {
        var buffer = [CChar](repeating: 0, count: 512)
        guard natsConnection_GetConnectedUrl(connection, &buffer, buffer.count) == NATS_OK else { return nil }
        let url = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return NATSServerVersion.probe(url: url)
    }
}
