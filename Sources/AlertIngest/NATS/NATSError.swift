import CNats

/// A libnats call that failed: which operation, libnats' status code and text.
/// Built from the returned `natsStatus` (never `nats_GetLastError`, which is
/// per thread: docs/ARCHITECTURE.md, Threads).
public struct NATSError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32
    public var statusText: String
    /// The JetStream API's error code, when the server answered with one (0: none).
    public var jetStreamCode: Int32 = 0

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

    /// Nobody could answer now: no connection, no reply in time, or
    /// JetStream said it is temporarily without a leader or quorum (a node
    /// away, an election). Trying again later can succeed; a refusal (a
    /// wrong configuration, a missing stream) cannot.
    public var isUnavailable: Bool {
        let transient: [natsStatus] = [NATS_TIMEOUT, NATS_NO_RESPONDERS, NATS_CONNECTION_DISCONNECTED, NATS_NOT_YET_CONNECTED,
                                       NATS_NO_SERVER, NATS_IO_ERROR, NATS_STALE_CONNECTION]
        if transient.contains(where: { Int32(bitPattern: $0.rawValue) == code }) { return true }
        // 10004 cluster incomplete, 10008 temporarily unavailable, 10009 not the leader.
        return [10004, 10008, 10009].contains(jetStreamCode)
    }

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
