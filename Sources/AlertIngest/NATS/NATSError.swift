import CNats

/// A libnats call that failed: which operation, libnats' status code and text.
/// Built from the returned `natsStatus` (never `nats_GetLastError`, which is
/// per thread: docs/ARCHITECTURE.md, Threads).
public struct NATSError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var statusText: String

    init(_ operation: String, _ status: natsStatus) {
        self.operation = operation
        self.code = Int32(bitPattern: status.rawValue)
        self.statusText = String(cString: natsStatus_GetText(status))
    }

    public init(operation: String, message: String) {
        self.operation = operation
        self.code = -1
        self.statusText = message
    }

    public var description: String { "\(operation): \(statusText)" }

    /// The message is larger than the server accepts: sending it again
    /// cannot succeed (a poison item, not an outage).
    public var isMessageTooLarge: Bool {
        code == Int32(bitPattern: NATS_MAX_PAYLOAD.rawValue)
            || statusText.localizedCaseInsensitiveContains("maximum payload")
            || statusText.localizedCaseInsensitiveContains("message size exceeds")
    }
}

@inline(__always)
func check(_ status: natsStatus, _ operation: @autoclosure () -> String) throws(NATSError) {
    if status != NATS_OK { throw NATSError(operation(), status) }
}
