public import Logging
import Foundation
import Synchronization

/// swift-log handler that writes one JSON object per line to standard output:
/// `time` (RFC 3339, UTC, milliseconds), `level`, `message`, then the metadata
/// as top-level keys (nested dictionaries and arrays stay JSON; integers and
/// doubles stay numbers). Lines are written whole under one lock, so lines from
/// different threads never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: LogOutput

    public init(label: String, level: Logger.Level, output: LogOutput = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"time\":\"\(LogOutput.timestamp())\",\"level\":\"\(event.level.rawValue)\",\"message\":"
        JSONText.appendString(String(describing: event.message), to: &line)
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() where !["time", "level", "message"].contains(key) {
            line += ","
            JSONText.appendString(key, to: &line)
            line += ":"
            JSONText.append(merged[key]!, to: &line)
        }
        line += "}\n"
        output.write(line)
    }
}

/// swift-log handler for people at a terminal: `time level message key=value …`.
public struct TextLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let output: LogOutput

    public init(label: String, level: Logger.Level, output: LogOutput = .standardError) {
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "\(LogOutput.timestamp()) \(event.level.rawValue.uppercased()) \(event.message)"
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() {
            var value = ""
            JSONText.append(merged[key]!, to: &value)
            line += " \(key)=\(value)"
        }
        output.write(line + "\n")
    }
}

/// Where log lines go; one lock per stream keeps lines whole.
public final class LogOutput: Sendable {
    private let fd: Int32
    private let lock = Mutex(())

    init(fd: Int32) {
        self.fd = fd
    }

    public static let standardOutput = LogOutput(fd: 1)
    public static let standardError = LogOutput(fd: 2)

    func write(_ line: String) {
        lock.withLock { _ in
            var bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func timestamp() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        var tm = tm()
        var seconds = time.tv_sec
        gmtime_r(&seconds, &tm)
        let ms = time.tv_nsec / 1_000_000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms)
    }
}

/// Minimal JSON text writing for log lines.
enum JSONText {
    static func appendString(_ string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                out += String(format: "\\u%04x", s.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    static func append(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let string):
            appendString(string, to: &out)
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as Int: out += String(number)
            case let number as Int64: out += String(number)
            case let number as UInt64: out += String(number)
            case let number as Double where number.isFinite: out += "\(number)"
            case let flag as Bool: out += flag ? "true" : "false"
            default: appendString(convertible.description, to: &out)
            }
        case .dictionary(let dictionary):
            out += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                append(dictionary[key]!, to: &out)
            }
            out += "}"
        case .array(let array):
            out += "["
            for (index, item) in array.enumerated() {
                if index > 0 { out += "," }
                append(item, to: &out)
            }
            out += "]"
        }
    }
}
