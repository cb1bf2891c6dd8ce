public import Foundation

/// The package's root folder (tests run from anywhere).
public let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

public struct ProtocError: Error, CustomStringConvertible {
    public let description: String
}

/// Encodes text-format protobuf with Debian's `protoc --encode`: an encoder
/// independent of protobuf-c and of our own encoder, so decode tests do not
/// just test our code against itself.
public func protocEncode(_ textFormat: String, message: String = "alerting.v1.AlertEvent") throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/protoc")
    let file = message == "alerting.v1.MetricSample" ? "alerting/v1/metric_sample.proto" : "alerting/v1/alert_event.proto"
    process.arguments = ["--encode=\(message)", "-I", packageRoot.appendingPathComponent("proto").path, file]
    let input = Pipe(), output = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    input.fileHandleForWriting.write(Data(textFormat.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProtocError(description: "protoc --encode failed: " + String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
    return [UInt8](data)
}

/// Decodes protobuf binary with Debian's `protoc --decode` into its text
/// format: a decoder independent of the publisher that encoded the bytes and
/// of our own decoder.
public func protocDecode(_ bytes: [UInt8], message: String) throws -> TextFormatMessage {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/protoc")
    process.arguments = ["--decode=\(message)", "-I", packageRoot.appendingPathComponent("proto").path,
                         "alerting/v1/alert_event.proto", "alerting/v1/metric_sample.proto"]
    let input = Pipe(), output = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    input.fileHandleForWriting.write(Data(bytes))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ProtocError(description: "protoc --decode failed: " + String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
    return TextFormatMessage(String(decoding: data, as: UTF8.self))
}

/// The protobuf text format of a flat message as `protoc --decode` prints it:
/// top-level scalars (`name: value`, strings unquoted) and map fields
/// (`labels { key: "…" value: "…" }` blocks). Nested messages other than map
/// entries are not needed by the contract and not parsed.
public struct TextFormatMessage: Sendable, CustomStringConvertible {
    public private(set) var scalars: [String: String] = [:]
    public private(set) var maps: [String: [String: String]] = [:]
    public let description: String

    public init(_ text: String) {
        description = text
        var openMap: String?
        var entry: (key: String?, value: String?) = (nil, nil)
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix(" {") {
                openMap = String(line.dropLast(2))
                entry = (nil, nil)
            } else if line == "}" {
                if let map = openMap, let key = entry.key { maps[map, default: [:]][key] = entry.value ?? "" }
                openMap = nil
            } else if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                    value = String(value.dropFirst().dropLast())
                }
                if openMap != nil {
                    if name == "key" { entry.key = value } else if name == "value" { entry.value = value }
                } else {
                    scalars[name] = value
                }
            }
        }
    }
}
