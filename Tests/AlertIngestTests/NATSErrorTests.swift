@testable import AlertIngest
import CNats
import Testing

/// Which libnats failures mean "nobody answered now" (tried again by the
/// event consumers' set-up) and which are refusals (thrown at once).
@Suite("NATSError: unavailable or refused")
struct NATSErrorTests {
    @Test("no answer, no connection, or JetStream without a leader or quorum: unavailable")
    func unavailable() {
        for status in [NATS_TIMEOUT, NATS_NO_RESPONDERS, NATS_CONNECTION_DISCONNECTED, NATS_NOT_YET_CONNECTED, NATS_NO_SERVER] {
            #expect(NATSError("look up stream EVENTS", status).isUnavailable, "\(NATSError("x", status))")
        }
        for code in [10004, 10008, 10009] {
            let error = NATSError("look up consumer", NATS_ERR, code: jsErrCode(UInt32(code)))
            #expect(error.isUnavailable, "\(error)")
            #expect(error.description.contains("JetStream error \(code)"))
        }
    }

    @Test("a refusal (stream not found, bad configuration, closed connection) is not unavailable")
    func refused() {
        #expect(!NATSError("look up stream EVENTS", NATS_NOT_FOUND, code: jsErrCode(10059)).isUnavailable)
        #expect(!NATSError("create consumer", NATS_ERR, code: jsErrCode(10012)).isUnavailable)
        #expect(!NATSError("subscribe", NATS_CONNECTION_CLOSED).isUnavailable)
        #expect(!NATSError("subscribe", NATS_INVALID_ARG).isUnavailable)
        #expect(!NATSError(operation: "HA takeover", message: "stepped down").isUnavailable)
    }
}
