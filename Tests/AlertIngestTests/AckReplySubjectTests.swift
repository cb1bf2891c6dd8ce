import AlertIngest
import Testing

/// `AckReplySubject` reads a delivered message's stream sequence and pending
/// count from its reply subject in the forms libnats' `natsMsg_GetMetaData`
/// reads, or leaves the subject to it.
@Suite("JetStream reply subject metadata")
struct AckReplySubjectTests {
    func parsed(_ reply: String) -> (UInt64, UInt64)? {
        reply.withCString { AckReplySubject.sequenceAndPending($0) }.map { ($0.streamSequence, $0.pending) }
    }

    // libnats refuses the metadata of a message that did not come through a
    // subscription, so the expected values are written out; that the load
    // gets the same revisions as libnats is checked on a server (KeyValueLoadTests).
    @Test("the forms libnats reads give the stream sequence and the pending count")
    func forms() {
        let replies: [(String, [UInt64])] = [
            // Before nats-server 2.9: 9 tokens.
            ("$JS.ACK.KV_nats_alerter_alerts.ozr8Xu1Bde.1.100001.100001.1764684000000000000.0", [100_001, 0]),
            ("$JS.ACK.KV_b.c.3.42.7.1764684000000000000.99958", [42, 99958]),
            // With a domain and an account hash (11 tokens), and a further token (12).
            ("$JS.ACK._.ACCHASH.KV_b.c.1.18446744073709.5.1764684000000000000.12", [18_446_744_073_709, 12]),
            ("$JS.ACK.hub.ACCHASH.KV_b.c.1.7.5.1764684000000000000.0.r4nd0m", [7, 0]),
            ("$JS.ACK.KV_b.c.1.0.0.0.0", [0, 0]),
        ]
        for (reply, expected) in replies {
            #expect(parsed(reply).map { [$0.0, $0.1] } == expected, "\(reply)")
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
