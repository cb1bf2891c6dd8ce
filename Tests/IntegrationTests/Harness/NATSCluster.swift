import AlertCore
import AlertIngest
import Foundation

/// Three real nats-server processes (Debian's 2.9.10) forming one cluster on
/// loopback: server names n1…n3, JetStream on with a store dir each, routes
/// between all three, and a short client ping (`ping_interval: 1s`,
/// `ping_max: 2`) so a stopped client is dropped within about 3 s.
///
/// Nodes are numbered 0, 1, 2 (server names n1, n2, n3). A node can be killed
/// with SIGKILL (by its saved pid) and started again with the same config and
/// store dir. The cluster keeps a control connection to all three nodes for
/// `$JS.API` requests (stream leaders, reading the HA commit log).
final class NATSCluster: Sendable {
    struct Node: Sendable {
        let name: String
        let clientPort: Int
        let clusterPort: Int
        let configFile: URL
        var url: String { "nats://127.0.0.1:\(clientPort)" }
    }

    let nodes: [Node]
    let directory: URL
    private let processes: LockedBox<[ChildProcess?]>
    private let controlConnection = LockedBox<NATSConnection?>(nil)

    /// The client URLs of all three nodes, for `nats.servers`.
    var urls: [String] { nodes.map(\.url) }

    /// `urls` as a YAML flow list: `["nats://…", "nats://…", "nats://…"]`.
    var yamlServers: String { "[" + urls.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }

    private init(directory: URL) throws {
        self.directory = directory
        let clusterPorts = (0..<3).map { _ in freeLoopbackPort() }
        var nodes: [Node] = []
        for index in 0..<3 {
            let name = "n\(index + 1)"
            let store = directory.appendingPathComponent("\(name)-store")
            try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
            let node = Node(name: name, clientPort: freeLoopbackPort(), clusterPort: clusterPorts[index],
                            configFile: directory.appendingPathComponent("\(name).conf"))
            let routes = clusterPorts.map { "\"nats-route://127.0.0.1:\($0)\"" }.joined(separator: ", ")
            let config = """
                server_name: \(name)
                listen: "127.0.0.1:\(node.clientPort)"
                ping_interval: "1s"
                ping_max: 2
                jetstream { store_dir: "\(store.path)" }
                cluster {
                  name: alerter-test
                  listen: "127.0.0.1:\(node.clusterPort)"
                  routes: [\(routes)]
                }

                """
            try config.write(to: node.configFile, atomically: true, encoding: .utf8)
            nodes.append(node)
        }
        self.nodes = nodes
        self.processes = LockedBox([nil, nil, nil])
    }

    /// Starts three nodes and waits until JetStream works cluster-wide (an R3
    /// stream can be created and has a leader). Retries with new ports if one
    /// was taken between choosing and binding it.
    static func start(in directory: URL) async throws -> NATSCluster {
        var failures: [String] = []
        for attempt in 0..<3 {
            let clusterDirectory = directory.appendingPathComponent("nats-cluster-\(attempt)")
            try FileManager.default.createDirectory(at: clusterDirectory, withIntermediateDirectories: true)
            let cluster = try NATSCluster(directory: clusterDirectory)
            do {
                for node in 0..<3 { try cluster.launch(node) }
                for node in 0..<3 { try await cluster.waitUntilServing(node) }
                try await cluster.connectControl()
                try await cluster.waitUntilJetStreamReady(timeout: .seconds(20))
                return cluster
            } catch {
                failures.append("\(error)")
                cluster.killAll()
            }
        }
        throw HarnessError("the NATS cluster did not start after 3 attempts:\n\(failures.joined(separator: "\n---\n"))")
    }

    private func launch(_ node: Int) throws {
        let process = try ChildProcess(name: "nats-\(nodes[node].name)", executable: "/usr/sbin/nats-server",
                                       arguments: ["-c", nodes[node].configFile.path], directory: directory)
        var all = processes.get()
        all[node] = process
        processes.set(all)
    }

    private func waitUntilServing(_ node: Int) async throws {
        guard let process = processes.get()[node] else { throw HarnessError("\(nodes[node].name) is not started") }
        let port = nodes[node].clientPort
        guard await waitUntil(timeout: .seconds(10), { (isListening(port) && process.output.contains("Server is ready")) || !process.isRunning }),
              process.isRunning
        else {
            throw HarnessError("\(nodes[node].name) did not serve on \(port):\n\(process.output.suffix(1500))")
        }
    }

    private func connectControl() async throws {
        let servers = urls
        let connection = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: servers, name: "cluster-harness", reconnectWait: .milliseconds(100)),
                               logger: quietLogger)
        }
        controlConnection.set(connection)
    }

    /// An R3 stream can be created (so a metadata leader exists and all
    /// three nodes take part) and elects a leader; then it is deleted.
    private func waitUntilJetStreamReady(timeout: Duration) async throws {
        let config = #"{"name":"HARNESS_READY","subjects":["harness.ready"],"num_replicas":3,"storage":"memory"}"#
        var last = "no answer"
        let created = await waitUntilAsync(timeout: timeout) {
            do {
                let answer = try await self.jetStreamAPI("STREAM.CREATE.HARNESS_READY", config)
                if let error = answer["error"] as? [String: Any] {
                    last = "\(error)"
                    // Already there from a previous try whose answer was lost.
                    return (error["err_code"] as? Int) == 10058
                }
                return true
            } catch {
                last = "\(error)"
                return false
            }
        }
        guard created else { throw HarnessError("no R3 stream could be created within \(timeout): \(last)") }
        guard await waitForLeader(ofStream: "HARNESS_READY", timeout: timeout) != nil else {
            throw HarnessError("the R3 test stream elected no leader within \(timeout)")
        }
        _ = try? await jetStreamAPI("STREAM.DELETE.HARNESS_READY", "")
    }

    /// Kills a node now (SIGKILL by its saved pid) and reaps it.
    func kill(_ node: Int) {
        processes.get()[node]?.kill()
        var all = processes.get()
        all[node] = nil
        processes.set(all)
    }

    /// Starts a killed or stopped node again, with the same config and store dir.
    func restart(_ node: Int) async throws {
        if let running = processes.get()[node], running.isRunning { return }
        try launch(node)
        try await waitUntilServing(node)
    }

    /// Stops every node (SIGTERM, then SIGKILL) and closes the control connection.
    func stop() async {
        controlConnection.get()?.close()
        for process in processes.get() { await process?.stop() }
        processes.set([nil, nil, nil])
    }

    /// Kills every node now; for cleanup in `defer`.
    func killAll() {
        controlConnection.get()?.close()
        for process in processes.get() { process?.kill() }
        processes.set([nil, nil, nil])
    }

    /// The output of a node's current process (nats-server's log).
    func output(_ node: Int) -> String { processes.get()[node]?.output ?? "" }

    func isRunning(_ node: Int) -> Bool { processes.get()[node]?.isRunning ?? false }

    // MARK: - JetStream API

    /// Sends a `$JS.API.<api>` request over the control connection and
    /// returns the JSON answer. Throws on timeouts and transport errors; a
    /// JetStream error is in the answer's `error` field.
    func jetStreamAPI(_ api: String, _ body: String, timeout: Duration = .seconds(2)) async throws -> [String: Any] {
        guard let connection = controlConnection.get() else { throw HarnessError("the control connection is closed") }
        let reply = try await runBlocking { () throws(NATSError) in
            try connection.request(subject: "$JS.API.\(api)", payload: Array(body.utf8), timeout: timeout).payload
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any] else {
            throw HarnessError("$JS.API.\(api): not a JSON object: \(String(decoding: reply, as: UTF8.self))")
        }
        return object
    }

    /// `$JS.API.STREAM.INFO.<stream>`; nil while the stream cannot answer.
    func streamInfo(_ stream: String) async -> [String: Any]? {
        guard let answer = try? await jetStreamAPI("STREAM.INFO.\(stream)", ""), answer["error"] == nil else { return nil }
        return answer
    }

    /// The node leading a stream now (KV bucket `b` is stream `KV_b`), or
    /// nil if it has none (an election is under way) or cannot be asked.
    func leader(ofStream stream: String) async -> Int? {
        guard let cluster = await streamInfo(stream)?["cluster"] as? [String: Any],
              let leader = cluster["leader"] as? String
        else { return nil }
        return nodes.firstIndex { $0.name == leader }
    }

    /// Polls until the stream has a leader other than `excluded`.
    func waitForLeader(ofStream stream: String, excluding excluded: Int? = nil, timeout: Duration = .seconds(15)) async -> Int? {
        let found = LockedBox<Int?>(nil)
        _ = await waitUntilAsync(timeout: timeout) {
            guard let leader = await self.leader(ofStream: stream), leader != excluded else { return false }
            found.set(leader)
            return true
        }
        return found.get()
    }

    /// True when the stream has a leader and both followers are current:
    /// what "settled" means after a node came back.
    func isSettled(stream: String) async -> Bool {
        guard let cluster = await streamInfo(stream)?["cluster"] as? [String: Any],
              cluster["leader"] as? String != nil,
              let replicas = cluster["replicas"] as? [[String: Any]]
        else { return false }
        return replicas.count == 2 && replicas.allSatisfy { $0["current"] as? Bool == true && $0["offline"] as? Bool != true }
    }

    /// Every message of a stream, in sequence order: read through an
    /// ephemeral push consumer (ack none) on an inbox of the control
    /// connection, deleted after. For audits (the HA commit log).
    func messages(ofStream stream: String, timeout: Duration = .seconds(30)) async throws -> [StoredMessage] {
        guard let connection = controlConnection.get() else { throw HarnessError("the control connection is closed") }
        guard let state = await streamInfo(stream)?["state"] as? [String: Any] else { throw HarnessError("stream \(stream) cannot be read") }
        let count = (state["messages"] as? NSNumber)?.intValue ?? 0
        guard count > 0 else { return [] }
        let inbox = "_INBOX.harness.\(UUID().uuidString)"
        let collected = LockedBox<[StoredMessage]>([])
        let subscription = try NATSSubscription(connection: connection, subject: inbox, handler: StreamReader(collected: collected))
        try await runBlocking { () throws(NATSError) in try connection.flush() }
        let config = #"{"stream_name":"\#(stream)","config":{"deliver_subject":"\#(inbox)","deliver_policy":"all","ack_policy":"none","replay_policy":"instant","mem_storage":true,"num_replicas":1}}"#
        let answer = try await jetStreamAPI("CONSUMER.CREATE.\(stream)", config, timeout: .seconds(5))
        if let error = answer["error"] { throw HarnessError("reading \(stream): \(error)") }
        let all = await waitUntil(timeout: timeout) { collected.get().count >= count }
        if let name = answer["name"] as? String { _ = try? await jetStreamAPI("CONSUMER.DELETE.\(stream).\(name)", "") }
        try? await runBlocking { () throws(NATSError) in try subscription.drain(timeout: .seconds(2)) }
        guard all else { throw HarnessError("read \(collected.get().count) of \(count) messages of \(stream) within \(timeout)") }
        return collected.get().sorted { $0.sequence < $1.sequence }
    }
}

/// One message of a stream, as read back by the harness.
struct StoredMessage: Sendable {
    let sequence: UInt64
    let subject: String
    let data: Data
}

/// Collects what a push consumer delivers; the stream sequence is in the
/// reply subject (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.…`,
/// two more tokens after `ACK` on servers that add domain and account).
private final class StreamReader: NATSMessageHandler {
    let collected: LockedBox<[StoredMessage]>
    init(collected: LockedBox<[StoredMessage]>) { self.collected = collected }

    func handle(_ message: borrowing NATSMessage) {
        let tokens = (message.replySubject ?? "").split(separator: ".")
        let position = tokens.count >= 11 ? 7 : 5
        let sequence = tokens.count > position ? UInt64(tokens[position]) ?? 0 : 0
        let stored = StoredMessage(sequence: sequence, subject: message.subject, data: Data(message.payload))
        // One delivery at a time per subscription: get-then-set does not race.
        collected.set(collected.get() + [stored])
    }
}
