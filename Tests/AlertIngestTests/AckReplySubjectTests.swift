import AlertIngest
import CNats
import Testing

/// `AckReplySubject` reads a delivered message's stream sequence and pending
/// count from its reply subject as libnats' `natsMsg_GetMetaData` does, or
/// leaves the subject to it.
@Suite("JetStream reply subject metadata")
struct AckReplySubjectTests {
    /// What libnats reads from a message with this reply subject (nil: it refuses it).
    func libnats(_ reply: String) -> (UInt64, UInt64)? {
        var message: OpaquePointer?
        guard natsMsg_Create(&message, "$KV.b.k", reply, nil, 0) == NATS_OK, let message else { return nil }
        defer { natsMsg_Destroy(message) }
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        guard natsMsg_GetMetaData(&meta, message) == NATS_OK, let meta else { return nil }
        defer { jsMsgMetaData_Destroy(meta) }
        return (meta.pointee.Sequence.Stream, meta.pointee.NumPending)
    }

    func parsed(_ reply: String) -> (UInt64, UInt64)? {
        reply.withCString { AckReplySubject.sequenceAndPending($0) }.map { ($0.streamSequence, $0.pending) }
    }

    @Test("the forms libnats reads give the same stream sequence and pending count")
    func sameAsLibnats() {
        let replies = [
            // Before nats-server 2.9: 9 tokens.
            "$JS.ACK.KV_nats_alerter_alerts.ozr8Xu1Bde.1.100001.100001.1764684000000000000.0",
            "$JS.ACK.KV_b.c.3.42.7.1764684000000000000.99958",
            // With a domain and an account hash (11 tokens), and a further token (12).
            "$JS.ACK._.ACCHASH.KV_b.c.1.18446744073709.5.1764684000000000000.12",
            "$JS.ACK.hub.ACCHASH.KV_b.c.1.7.5.1764684000000000000.0.r4nd0m",
            "$JS.ACK.KV_b.c.1.0.0.0.0",
        ]
        for reply in replies {
            let expected = libnats(reply)
            #expect(expected != nil, "libnats reads \(reply)")
            #expect(parsed(reply).map { [$0.0, $0.1] } == expected.map { [$0.0, $0.1] }, "\(reply)")
        }
    }

    @Test("anything else is left to libnats (nil)")
    func otherForms() {
        for reply in ["", "$JS", "$JS.ACK", "$JS.ACK.", "_INBOX.abc.def", "$JS.ACK.KV_b.c.1.2.3.4", "$JS.ACK.a.b.c.d.e.f.g.h",
                      "$JS.ACK.KV_b.c.1.x2.7.1.0", "$JS.ACK.KV_b.c.1.42.7.1.", "$JS.ACK.KV_b.c.1.99999999999999999999.7.1.0",
                      "$JS.ACK.KV_b.c.1.-1.7.1.0"] {
            #expect(parsed(reply) == nil, "\(reply)")
        }
    }
}
