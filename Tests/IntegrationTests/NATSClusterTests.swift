import AlertCore
import AlertIngest
import Foundation
import Testing

/// The 3-node cluster harness the HA tests stand on, checked on its own.
@Suite("Harness: a 3-node nats-server cluster", .serialized)
struct NATSClusterTests {
    @Test("the cluster forms, an R3 stream has a leader, killing it elects another, and a client on all three URLs keeps publishing")
    func leaderFailover() async throws {
        let directory = try makeTemporaryDirectory("nats-cluster")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }

        let client = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: cluster.urls, name: "publisher", reconnectWait: .milliseconds(100)),
                               logger: quietLogger)
        }
        defer { client.close() }
        let jetStream = try JetStream(connection: client)
        try await runBlocking { () throws(NATSError) in
            try jetStream.ensureStream(.init(name: "HARNESS", subjects: ["harness.>"], replicas: 3), subscribed: [])
        }
        let leader = try #require(await cluster.waitForLeader(ofStream: "HARNESS"))
        let replicas = (await cluster.streamInfo("HARNESS")?["cluster"] as? [String: Any])?["replicas"] as? [[String: Any]]
        #expect(replicas?.count == 2, "an R3 stream has two followers besides its leader")

        /// Publishes with the stream's acknowledgement, retrying while the stream has no leader.
        func publish(_ index: Int, within timeout: Duration) async -> Bool {
            await waitUntilAsync(timeout: timeout) {
                (try? await runBlocking { () throws(NATSError) in
                    try jetStream.publish(subject: "harness.event", payload: Array("event \(index)".utf8), messageID: "event-\(index)",
                                          timeout: .seconds(1))
                }) != nil
            }
        }
        for index in 0..<100 {
            #expect(await publish(index, within: .seconds(5)))
        }
        cluster.kill(leader)
        let killedAt = ContinuousClock.now
        // Bounded for liveness, not speed: nats-server 2.9.10 elects in 4–8 s
        // on an idle machine, 11.7 s was seen on a loaded CI run.
        let newLeader = await cluster.waitForLeader(ofStream: "HARNESS", excluding: leader, timeout: .seconds(30))
        let election = ContinuousClock.now - killedAt
        #expect(newLeader != nil, "no new leader within 30 s")
        // The client keeps publishing through the other two nodes.
        for index in 100..<200 {
            #expect(await publish(index, within: .seconds(15)))
        }
        #expect(try await runBlocking { () throws(NATSError) in try jetStream.messageCount(stream: "HARNESS") } == 200)
        #expect(client.connectedURL != cluster.nodes[leader].url, "the client should be on one of the other nodes")

        // The killed node comes back with its store dir and catches up.
        try await cluster.restart(leader)
        #expect(await waitUntilAsync(timeout: .seconds(20)) { await cluster.isSettled(stream: "HARNESS") })
        print("NATSClusterTests: leader \(cluster.nodes[leader].name) killed; \(newLeader.map { cluster.nodes[$0].name } ?? "none") leads after \(election)")
        await cluster.stop()
    }
}
