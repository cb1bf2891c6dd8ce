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
