import AlertCore
import AlertIngest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The fault tests of high availability (issue 16): two or three nats-alerter
/// instances in one HA group (the same `state.jetstream.bucket_prefix`) on a
/// real 3-node nats-server cluster, every stream and bucket R3. A webhook
/// recorder stands in for the receiver; each request carries the decision id
/// in `X-Nats-Alerter-Notification-Id`, so "decided twice" shows as one alert
/// arriving under two ids.
@Suite("High availability: one active instance, fenced takeover, nothing lost or decided twice", .serialized)
struct HighAvailabilityTests {
    /// Short leases keep the crash and pause tests short; the tests whose
    /// point is the default (a NATS leader change must not cause a takeover,
    /// a pause shorter than the TTL) run with the default.
    static let shortTTL: Duration = .seconds(4)
    static let defaultTTL: Duration = .seconds(9)
    static let leaseBucketStream = "KV_nats_alerter_leases"
    static let commitLogStream = "NATS_ALERTER_HA"

    /// One alert per alertname, so one group per alert (`group_by: [alertname]`).
    static func alertName(_ number: Int) -> String { "ha-alert-\(String(format: "%03d", number))" }

    static func config(cluster: NATSCluster, hook: HTTPRecorder, instance: String, shortLease: Bool, eventReplicas: Int = 3) -> String {
        let ha = shortLease ? "ha: {instance: \(instance), lease_ttl: 4s, renew_interval: 500ms}" : "ha: {instance: \(instance)}"
        return """
            nats:
              servers: \(cluster.yamlServers)
              subjects: ["system.>"]
              reconnect: {wait: 250ms}
              jetstream: {stream: EVENTS, durable: alerter, replicas: \(eventReplicas), ack_wait: 5s}
            state: {backend: jetstream, jetstream: {replicas: 3, outbox: {ack_wait: 3s}}}
            \(ha)
            route: {receiver: team, group_by: [alertname], group_wait: 1s, group_interval: 5m, repeat_interval: 4h}
            receivers: [{name: team, webhook_configs: [{url: "\(hook.url)/hook"}]}]
            """
    }

    /// Starts an instance and waits for its first HA line: "HA: active" or
    /// "HA: standby". An active one is also waited for until it consumes and
    /// the events stream (created by the first owner) has a leader: plain
    /// publishes before that are not captured.
    static func startInstance(_ name: String, cluster: NATSCluster, hook: HTTPRecorder, directory: URL, shortLease: Bool = true,
                              eventReplicas: Int = 3, expect role: String) async throws -> AlerterProcess {
        let alerter = try AlerterProcess(config: config(cluster: cluster, hook: hook, instance: name, shortLease: shortLease, eventReplicas: eventReplicas),
                                         directory: directory)
        let process = alerter.process
        guard await waitUntil(timeout: .seconds(30), { process.output.contains("HA: \(role)") || !process.isRunning }), process.isRunning else {
            process.kill()
            throw HarnessError("instance \(name) did not log \"HA: \(role)\" within 30 s\(process.isRunning ? "" : " (it exited)"):\n\(process.output.suffix(3000))")
        }
        if role == "active" {
            try await process.waitForOutput(containing: "subscribed; waiting for events", timeout: .seconds(30))
            guard await cluster.waitForLeader(ofStream: "EVENTS", timeout: .seconds(20)) != nil else {
                throw HarnessError("the events stream has no leader")
            }
        }
        return alerter
    }

    // MARK: - What the receiver got

    /// Per alert (by alertname), the notification ids of every request that carried it as firing, in order.
    static func deliveries(_ hook: HTTPRecorder) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for request in hook.requests {
            for alert in firingAlerts(request) {
                result[alert, default: []].append(notificationID(request))
            }
        }
        return result
    }

    static func notificationID(_ request: HTTPRecorder.Request) -> String {
        request.headers.first { $0.key.lowercased() == "x-nats-alerter-notification-id" }?.value ?? "(none)"
    }

    static func firingAlerts(_ request: HTTPRecorder.Request) -> [String] {
        guard let payload = request.json as? [String: Any], let alerts = payload["alerts"] as? [[String: Any]] else { return [] }
        return alerts.filter { $0["status"] as? String == "firing" }.compactMap { ($0["labels"] as? [String: String])?["alertname"] }
    }

    /// The checks every test ends with: each of `expected` alerts notified,
    /// each under one decision id, and at most `repeats` requests that
    /// repeat an id (the send in flight when an owner died).
    static func checkOneDecisionEach(_ hook: HTTPRecorder, expected: Int, repeats allowed: Int, _ context: String) {
        let deliveries = deliveries(hook)
        #expect(deliveries.count == expected, "\(context): alerts notified \(deliveries.count) of \(expected)")
        let twice = deliveries.filter { Set($0.value).count > 1 }
        #expect(twice.isEmpty, "\(context): alerts notified under two decisions: \(twice.sorted { $0.key < $1.key }.prefix(10))")
        let ids = Dictionary(hook.requests.map { (notificationID($0), 1) }, uniquingKeysWith: +)
        #expect(ids["(none)"] == nil, "\(context): a request without X-Nats-Alerter-Notification-Id")
        let repeats = ids.values.reduce(0) { $0 + $1 - 1 }
        #expect(repeats <= allowed, "\(context): \(repeats) repeated sends (at most \(allowed) allowed): \(ids.filter { $0.value > 1 })")
    }

    /// Waits until every one of `expected` alerts reached the receiver, then
    /// a further `settle` for anything sent late (outbox `ack_wait` is 3 s).
    static func waitForDeliveries(_ hook: HTTPRecorder, expected: Int, timeout: Duration = .seconds(60), settle: Duration = .seconds(4)) async -> Bool {
        let complete = await waitUntil(timeout: timeout) { deliveries(hook).count >= expected }
        try? await Task.sleep(for: settle)
        return complete
    }

    // MARK: - What the instances logged

    /// The times of an instance's log lines whose message contains `text`.
    static func logTimes(_ process: ChildProcess, _ text: String) -> [Date] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return process.jsonLines.compactMap { line in
            guard (line["message"] as? String)?.contains(text) == true, let time = line["time"] as? String else { return nil }
            return formatter.date(from: time)
        }
    }

    static func logLines(_ process: ChildProcess, _ text: String) -> [[String: Any]] {
        process.jsonLines.filter { ($0["message"] as? String)?.contains(text) == true }
    }

    /// The NATS server an instance is connected to, by its last "connected"/"reconnected" line.
    static func currentServer(_ process: ChildProcess) -> String? {
        process.jsonLines.last { ["connected to NATS", "reconnected to NATS"].contains($0["message"] as? String ?? "") }?["server"] as? String
    }

    /// Kills a NATS node and checks that every instance connected to it
    /// reconnects to another node; returns how many had to.
    static func killNode(_ node: Int, of cluster: NATSCluster, instances: [AlerterProcess]) async -> Int {
        let url = cluster.nodes[node].url
        let onIt = instances.filter { currentServer($0.process) == url }
        cluster.kill(node)
        for instance in onIt {
            let moved = await waitUntil(timeout: .seconds(15)) {
                !instance.process.isRunning || currentServer(instance.process).map { $0 != url } == true
            }
            #expect(moved, "\(instance.process.name) did not reconnect to another node after \(cluster.nodes[node].name) was killed")
        }
        return onIt.count
    }

    static func activations(_ alerters: [AlerterProcess]) -> Int {
        alerters.reduce(0) { $0 + logTimes($1.process, "HA: active").count }
    }

    // MARK: - The tests

    @Test("kill -9 the active instance in the middle of 20,000 events over 500 alerts: every alert notified under one decision; the standby active within TTL + 1 s")
    func activeKilled() async throws {
        let directory = try makeTemporaryDirectory("ha-kill")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let first = try await Self.startInstance("a", cluster: cluster, hook: hook, directory: directory, expect: "active")
        defer { first.process.kill() }
        let second = try await Self.startInstance("b", cluster: cluster, hook: hook, directory: directory, expect: "standby")
        defer { second.process.kill() }
        let publisher = try await EventPublisher(cluster: cluster)
        defer { publisher.close() }

        // The HA group as the API shows it, on the standby.
        let status = try? await httpJSON(port: second.httpPort, path: "/api/v2/status") as? [String: Any]
        #expect((status?["cluster"] as? [String: Any])?["active"] as? String == "a", "status on the standby: \(String(describing: status?["cluster"]))")
        #expect(await second.waitUntilReady(timeout: .seconds(5)), "a standby is ready (it can take over)")
        #expect(await waitUntilAsync(timeout: .seconds(10)) {
            await metrics(port: first.httpPort).contains(#"nats_alerter_ha_active{partition="0"} 1"#)
        })

        // The first half names 300 alerts; the kill comes while their notifications go out.
        try publisher.publish(0..<10_000) { $0 % 300 }
        #expect(await waitUntil(timeout: .seconds(60)) { hook.requests.count >= 100 }, "notifications before the kill: \(hook.requests.count)")
        first.process.kill()
        let killedAt = Date()
        let deliveredBeforeKill = hook.requests.count
        // The second half names all 500: 200 of them only the new owner can notify.
        try publisher.publish(10_000..<20_000) { $0 % 500 }
        #expect(await publisher.waitUntilStored(20_000), "the stream holds \(publisher.storedCount()) of 20,000 events")

        try await second.process.waitForOutput(containing: "HA: active", timeout: Self.shortTTL + .seconds(15))
        let takeover = try #require(Self.logTimes(second.process, "HA: active").first).timeIntervalSince(killedAt)
        #expect(takeover <= 5.0, "the standby became active \(takeover) s after the kill (lease TTL 4 s)")

        let complete = await Self.waitForDeliveries(hook, expected: 500)
        #expect(complete, "after kill -9 of the active instance: \(Self.deliveries(hook).count) of 500 notified")
        if !complete {
            Self.printTimeline([("a", first), ("b", second)], all: true)
            Self.printState([("b", second)])
        }
        Self.checkOneDecisionEach(hook, expected: 500, repeats: 1, "after kill -9 of the active instance")
        print("HighAvailabilityTests.activeKilled: killed after \(deliveredBeforeKill) notifications; takeover after \(String(format: "%.2f", takeover)) s; \(hook.requests.count) requests")
        await second.process.stop()
    }

    @Test("SIGSTOP the active instance for longer than the TTL, then SIGCONT: the standby takes over; the old one sends nothing, says why it steps down, exits 75")
    func activePausedPastTTL() async throws {
        let directory = try makeTemporaryDirectory("ha-pause-long")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let first = try await Self.startInstance("a", cluster: cluster, hook: hook, directory: directory, expect: "active")
        defer { first.process.kill() }
        let second = try await Self.startInstance("b", cluster: cluster, hook: hook, directory: directory, expect: "standby")
        defer { second.process.kill() }
        let publisher = try await EventPublisher(cluster: cluster)
        defer { publisher.close() }

        try publisher.publish(0..<1_000) { $0 % 100 }
        #expect(await waitUntil(timeout: .seconds(30)) { Self.deliveries(hook).count == 100 })
        // 100 new alerts reach the active one, which pauses inside their group_wait:
        // when it resumes, its timers are due and it would decide them.
        try publisher.publish(1_000..<2_000) { 100 + $0 % 100 }
        try await Task.sleep(for: .milliseconds(300))
        first.process.signal(SIGSTOP)
        let stoppedAt = Date()
        try await second.process.waitForOutput(containing: "HA: active", timeout: Self.shortTTL + .seconds(15))
        try publisher.publish(2_000..<3_000) { 200 + $0 % 100 }
        let complete = await waitUntil(timeout: .seconds(60)) { Self.deliveries(hook).count == 300 }
        #expect(complete, "alerts notified while the old owner is stopped: \(Self.deliveries(hook).count) of 300")
        // Quiet: nothing more for the new owner to send (the last request is 1.5 s old).
        _ = await waitUntil(timeout: .seconds(10)) {
            hook.requests.last.map { Date().timeIntervalSince1970 - $0.time >= 1.5 } ?? false
        }
        #expect(Date().timeIntervalSince(stoppedAt) > Self.shortTTL.seconds, "paused for less than the TTL")
        let requestsBeforeResume = hook.requests.count

        first.process.signal(SIGCONT)
        let resumedAt = Date()
        let status = try await first.process.waitForExit(timeout: .seconds(20))
        #expect(status == 75, "the old owner's exit status after it resumed")
        let steppingDown = Self.logLines(first.process, "HA: stepping down")
        #expect(steppingDown.count == 1, "the old owner's log:\n\(first.process.output.suffix(3000))")
        #expect((steppingDown.first?["reason"] as? String).map { !$0.isEmpty } == true, "stepping down without a reason: \(steppingDown)")
        try await Task.sleep(for: .seconds(max(0, 5.0 - Date().timeIntervalSince(resumedAt))))
        #expect(hook.requests.count == requestsBeforeResume,
                "requests after SIGCONT: \(hook.requests.suffix(hook.requests.count - requestsBeforeResume).map { Self.notificationID($0) + " " + Self.firingAlerts($0).joined(separator: ",") })")
        Self.checkOneDecisionEach(hook, expected: 300, repeats: 0, "after SIGSTOP past the TTL")
        print("HighAvailabilityTests.activePausedPastTTL: stepped down with reason \(steppingDown.first?["reason"] ?? "?")")
        await second.process.stop()
    }

    @Test("SIGSTOP the active instance for 3 s (less than the 9 s default TTL): no takeover, nothing repeated")
    func activePausedWithinTTL() async throws {
        let directory = try makeTemporaryDirectory("ha-pause-short")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let first = try await Self.startInstance("a", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "active")
        defer { first.process.kill() }
        let second = try await Self.startInstance("b", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "standby")
        defer { second.process.kill() }
        let publisher = try await EventPublisher(cluster: cluster)
        defer { publisher.close() }

        try publisher.publish(0..<1_000) { $0 % 100 }
        #expect(await waitUntil(timeout: .seconds(30)) { Self.deliveries(hook).count == 100 })
        try publisher.publish(1_000..<2_000) { 100 + $0 % 100 }
        try await Task.sleep(for: .milliseconds(300))
        first.process.signal(SIGSTOP)
        let stoppedAt = Date()
        try await Task.sleep(for: .seconds(3))
        first.process.signal(SIGCONT)
        try publisher.publish(2_000..<3_000) { 200 + $0 % 100 }
        let complete = await waitUntil(timeout: .seconds(30)) { Self.deliveries(hook).count == 300 }
        #expect(complete, "alerts notified: \(Self.deliveries(hook).count) of 300")
        // Past the moment a takeover could have happened had the lease lapsed.
        try await Task.sleep(for: .seconds(max(0, Self.defaultTTL.seconds + 2.0 - Date().timeIntervalSince(stoppedAt))))
        #expect(!second.process.output.contains("HA: active"), "the standby took over:\n\(second.process.output.suffix(2000))")
        #expect(first.process.isRunning && !first.process.output.contains("HA: stepping down"),
                "the paused owner stepped down:\n\(first.process.output.suffix(2000))")
        Self.checkOneDecisionEach(hook, expected: 300, repeats: 0, "after a 3 s SIGSTOP")
        await first.process.stop()
        await second.process.stop()
    }

    @Test("kill -9 the NATS node leading the event stream, then the one leading the lease bucket: at most one takeover, nothing lost or doubled, clients reconnect")
    func natsLeadersKilled() async throws {
        let directory = try makeTemporaryDirectory("ha-nats-leaders")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let first = try await Self.startInstance("a", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "active")
        defer { first.process.kill() }
        let second = try await Self.startInstance("b", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "standby")
        defer { second.process.kill() }
        let publisher = try await EventPublisher(cluster: cluster)
        defer { publisher.close() }

        try publisher.publish(0..<1_000) { $0 % 100 }
        #expect(await waitUntil(timeout: .seconds(30)) { Self.deliveries(hook).count == 100 })

        let eventsLeader = try #require(await cluster.waitForLeader(ofStream: "EVENTS"))
        var phases: [String] = []
        var mark = ContinuousClock.now
        func phase(_ name: String) {
            phases.append("\(name) \(String(format: "%.1f", (ContinuousClock.now - mark).seconds)) s")
            mark = .now
        }
        let movedFirst = await Self.killNode(eventsLeader, of: cluster, instances: [first, second])
        phase("reconnect")
        // Acknowledged publishes, retried until the stream has a new leader.
        #expect(await publisher.publishAcknowledged(1_000..<1_300) { 100 + $0 % 100 })
        phase("publish")
        #expect(await waitUntil(timeout: .seconds(60)) { Self.deliveries(hook).count == 200 },
                "after killing \(cluster.nodes[eventsLeader].name) (event stream leader): \(Self.deliveries(hook).count) of 200 notified")
        phase("notified")

        // Quorum back before the second kill: the first node returns and catches up.
        try await cluster.restart(eventsLeader)
        let settled = await waitUntilAsync(timeout: .seconds(30)) {
            for stream in ["EVENTS", Self.leaseBucketStream, Self.commitLogStream] where !(await cluster.isSettled(stream: stream)) { return false }
            return true
        }
        #expect(settled, "the cluster did not settle after \(cluster.nodes[eventsLeader].name) came back")
        phase("settle")
        let leaseLeader = try #require(await cluster.waitForLeader(ofStream: Self.leaseBucketStream))
        let movedSecond = await Self.killNode(leaseLeader, of: cluster, instances: [first, second])
        phase("reconnect")
        #expect(await publisher.publishAcknowledged(1_300..<1_600) { 200 + $0 % 100 })
        phase("publish")
        #expect(await waitUntil(timeout: .seconds(60)) { Self.deliveries(hook).count == 300 },
                "after killing \(cluster.nodes[leaseLeader].name) (lease bucket leader): \(Self.deliveries(hook).count) of 300 notified")
        phase("notified")
        try await Task.sleep(for: .seconds(4))

        let activations = Self.activations([first, second])
        #expect(activations <= 2, "HA: active logged \(activations) times: more than one takeover")
        Self.checkOneDecisionEach(hook, expected: 300, repeats: activations - 1, "after killing two NATS leaders")
        print("HighAvailabilityTests.natsLeadersKilled: killed \(cluster.nodes[eventsLeader].name) (events) then \(cluster.nodes[leaseLeader].name) (leases); activations \(activations); instances that reconnected elsewhere: \(movedFirst), then \(movedSecond); phases: \(phases.joined(separator: ", "))")
        // What the owner went through (suspensions, renews without answer), for whoever reads a slow run.
        Self.printTimeline([("a", first), ("b", second)], all: Self.deliveries(hook).count != 300)
        if Self.deliveries(hook).count != 300 { Self.printState([("a", first), ("b", second)]) }
        await first.process.stop()
        await second.process.stop()
    }

    /// Prints each instance's HA and shutdown log lines (repeats counted,
    /// not listed), for whoever reads a slow or failed run. `all: false`
    /// leaves out the info-level HA lines.
    @Test("the event stream unreachable while the standby takes over: the new owner keeps trying, stays up and owner, and notifies what waited once the stream is back")
    func eventStreamDownDuringTakeover() async throws {
        let directory = try makeTemporaryDirectory("ha-stream-down")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        // A one-replica event stream: killing its node takes it away while the
        // lease bucket and the commit log (three replicas) keep working.
        let first = try await Self.startInstance("a", cluster: cluster, hook: hook, directory: directory, eventReplicas: 1, expect: "active")
        defer { first.process.kill() }
        let second = try await Self.startInstance("b", cluster: cluster, hook: hook, directory: directory, eventReplicas: 1, expect: "standby")
        defer { second.process.kill() }
        let publisher = try await EventPublisher(cluster: cluster)
        defer { publisher.close() }

        try publisher.publish(0..<1_000) { $0 % 100 }
        #expect(await waitUntil(timeout: .seconds(30)) { Self.deliveries(hook).count == 100 })
        // 100 new alerts wait in the stream for an owner: the active one is paused, then killed.
        first.process.signal(SIGSTOP)
        #expect(await publisher.publishAcknowledged(1_000..<2_000) { 100 + $0 % 100 })
        let streamNode = try #require(await cluster.waitForLeader(ofStream: "EVENTS"))
        cluster.kill(streamNode)
        first.process.kill()
        // The node may have led the lease bucket and the commit log too: their
        // elections come first (a loaded machine measured over 15 s), and a
        // takeover whose fence missed the 4 s lease is tried again.
        try await second.process.waitForOutput(containing: "HA: active", timeout: .seconds(60))
        // The takeover reaches the event consumer and cannot create it.
        try await second.process.waitForOutput(containing: "event consumer not available", timeout: .seconds(30))
        try await Task.sleep(for: .seconds(2))
        #expect(second.process.isRunning, "the new owner exited while the event stream was away:\n\(second.process.output.suffix(3000))")
        #expect(Self.deliveries(hook).count == 100)

        try await cluster.restart(streamNode)
        let complete = await Self.waitForDeliveries(hook, expected: 200)
        #expect(complete, "after the event stream came back: \(Self.deliveries(hook).count) of 200 notified")
        if !complete { Self.printState([("b", second)]) }
        #expect(Self.activations([first, second]) == 2)
        #expect(Self.logLines(second.process, "event consumer available again").count >= 1)
        // The node's loss can also stall the silence watch the new owner sets up: tried again, never given up.
        if !Self.logLines(second.process, "HA: cannot follow the shared state yet").isEmpty {
            #expect(!Self.logLines(second.process, "HA: following the shared state again").isEmpty, "\(second.process.output.suffix(3000))")
        }
        Self.checkOneDecisionEach(hook, expected: 200, repeats: 1, "after the event stream was away during the takeover")
        await second.process.stop()
    }

    /// For a failed check: whether each instance still runs, and the last
    /// lines it logged (what it was doing when deliveries stopped).
    static func printState(_ instances: [(String, AlerterProcess)]) {
        for (name, instance) in instances {
            let process = instance.process
            let tail = process.output.split(separator: "\n").suffix(40).joined(separator: "\n    ")
            print("  \(name): \(process.isRunning ? "running" : "exited")\n    \(tail)")
        }
    }

    static func printTimeline(_ instances: [(String, AlerterProcess)], all: Bool) {
        for (name, instance) in instances {
            var runs: [(time: String, message: String, count: Int)] = []
            for line in instance.process.jsonLines {
                let message = line["message"] as? String ?? "", level = line["level"] as? String ?? ""
                let ha = message.hasPrefix("HA: ") && (all || level != "info")
                let shutdown = all && (message.hasPrefix("shutting down") || message == "stopped" || level == "error" || level == "critical")
                guard ha || shutdown else { continue }
                if runs.last?.message == message { runs[runs.count - 1].count += 1 } else { runs.append((String((line["time"] as? String ?? "").suffix(13)), message, 1)) }
            }
            print("  \(name): " + runs.map { "\($0.time) \($0.message)\($0.count > 1 ? " ×\($0.count)" : "")" }.joined(separator: "\n    "))
        }
    }

    @Test("SIGTERM the active instance: the standby is active within 1 s of the lease's release, nothing lost or doubled")
    func gracefulHandover() async throws {
        let directory = try makeTemporaryDirectory("ha-sigterm")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let first = try await Self.startInstance("a", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "active")
        defer { first.process.kill() }
        let second = try await Self.startInstance("b", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "standby")
        defer { second.process.kill() }
        let publisher = try await EventPublisher(cluster: cluster)
        defer { publisher.close() }

        try publisher.publish(0..<1_000) { $0 % 100 }
        #expect(await waitUntil(timeout: .seconds(30)) { Self.deliveries(hook).count == 100 })
        // 100 more alerts are in their group_wait when the active one is told to stop.
        try publisher.publish(1_000..<2_000) { 100 + $0 % 100 }
        try await Task.sleep(for: .milliseconds(300))
        first.process.signal(SIGTERM)
        let status = try await first.process.waitForExit(timeout: .seconds(20))
        #expect(status == 0)
        try await second.process.waitForOutput(containing: "HA: active", timeout: .seconds(10))
        let released = try #require(Self.logTimes(first.process, "HA: lease released").first, "\(first.process.output.suffix(2000))")
        let active = try #require(Self.logTimes(second.process, "HA: active").first)
        let handover = active.timeIntervalSince(released)
        #expect(handover >= 0 && handover < 1.0, "handover took \(handover) s (lease released → standby active)")

        try publisher.publish(2_000..<3_000) { 200 + $0 % 100 }
        #expect(await Self.waitForDeliveries(hook, expected: 300))
        Self.checkOneDecisionEach(hook, expected: 300, repeats: 0, "after SIGTERM of the active instance")
        print("HighAvailabilityTests.gracefulHandover: handover \(String(format: "%.3f", handover)) s")
        await second.process.stop()
    }

    @Test("three instances started and stopped one after another while events flow: never two owners (commit log and logs)")
    func rollingRestarts() async throws {
        let directory = try makeTemporaryDirectory("ha-rolling")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cluster = try await NATSCluster.start(in: directory)
        defer { cluster.killAll() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        var instances = [try await Self.startInstance("a", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "active")]
        defer { for instance in instances { instance.process.kill() } }
        instances.append(try await Self.startInstance("b", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "standby"))
        instances.append(try await Self.startInstance("c", cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "standby"))
        let publisher = try await EventPublisher(cluster: cluster)
        defer { publisher.close() }

        // One new alert every 20 ms until the last handover is done.
        let published = LockedBox(0)
        let stopPublishing = LockedBox(false)
        let flow = Task {
            var index = 0
            while !stopPublishing.get() {
                try? publisher.publish(index..<index + 1) { $0 }
                index += 1
                published.set(index)
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        /// Stops the one active instance gracefully and waits until another is active.
        func handOver(restarting name: String?) async throws {
            let running = instances.filter { $0.process.isRunning }
            let active = try #require(running.first { Self.logTimes($0.process, "HA: active").count > Self.logTimes($0.process, "HA: lease released").count })
            if let name { instances.append(try await Self.startInstance(name, cluster: cluster, hook: hook, directory: directory, shortLease: false, expect: "standby")) }
            try await Task.sleep(for: .seconds(1.5))
            active.process.signal(SIGTERM)
            #expect(try await active.process.waitForExit(timeout: .seconds(20)) == 0)
            let others = instances.filter { $0.process.isRunning }
            #expect(await waitUntil(timeout: .seconds(10)) { others.contains { $0.process.output.contains("HA: active") } },
                    "no instance took over after \(active.process.name) stopped")
        }
        try await Task.sleep(for: .seconds(1.5))
        try await handOver(restarting: nil)   // a → b or c
        try await handOver(restarting: "d")   // → the other of b, c, or d
        try await handOver(restarting: nil)   // → whichever of the two is left
        try await Task.sleep(for: .seconds(1.5))
        stopPublishing.set(true)
        await flow.value
        let alerts = published.get()
        #expect(await publisher.waitUntilStored(alerts), "the stream holds \(publisher.storedCount()) of \(alerts) events")
        #expect(await Self.waitForDeliveries(hook, expected: alerts))
        Self.checkOneDecisionEach(hook, expected: alerts, repeats: 0, "after three graceful handovers")

        // The commit log: each incarnation's commits are one contiguous run.
        let commits = try await cluster.messages(ofStream: Self.commitLogStream).map { message -> [String: Any] in
            (try? JSONSerialization.jsonObject(with: message.data) as? [String: Any]) ?? ["unparsed": String(decoding: message.data, as: UTF8.self)]
        }
        #expect(!commits.isEmpty, "the commit log \(Self.commitLogStream) is empty")
        var runs: [(incarnation: String, instance: String, kinds: [String])] = []
        for commit in commits {
            let incarnation = "\(commit["incarnation"] ?? "?")"
            if runs.last?.incarnation == incarnation {
                runs[runs.count - 1].kinds.append(commit["kind"] as? String ?? "?")
            } else {
                runs.append((incarnation, commit["instance"] as? String ?? "?", [commit["kind"] as? String ?? "?"]))
            }
        }
        let returned = Dictionary(runs.map { ($0.incarnation, 1) }, uniquingKeysWith: +).filter { $0.value > 1 }
        #expect(returned.isEmpty, "incarnations that committed again after another one had: \(returned.keys.sorted()); runs: \(runs.map { "\($0.instance)/\($0.incarnation)×\($0.kinds.count)" })")
        #expect(runs.allSatisfy { $0.kinds.first == "takeover" }, "each owner's first commit is its takeover: \(runs.map { "\($0.instance): \($0.kinds.prefix(3))" })")
        let activations = Self.activations(instances)
        #expect(runs.count == activations, "\(runs.count) owners in the commit log, \(activations) \"HA: active\" lines")
        #expect(activations == 4, "a, then three successors")

        // The logs: each instance's active interval ends before the next one starts.
        var intervals: [(name: String, from: Date, to: Date)] = []
        for instance in instances {
            let starts = Self.logTimes(instance.process, "HA: active")
            let ends = (Self.logTimes(instance.process, "HA: lease released") + Self.logTimes(instance.process, "HA: stepping down")).sorted()
            for (index, start) in starts.enumerated() {
                intervals.append((instance.process.name, start, index < ends.count ? ends[index] : .distantFuture))
            }
        }
        intervals.sort { $0.from < $1.from }
        for (earlier, later) in zip(intervals, intervals.dropFirst()) {
            #expect(earlier.to <= later.from, "two owners: \(earlier.name) active until \(earlier.to), \(later.name) active from \(later.from)")
        }
        print("HighAvailabilityTests.rollingRestarts: \(alerts) alerts, owners \(runs.map { "\($0.instance)×\($0.kinds.count)" })")
        Self.printTimeline(instances.map { ($0.process.name, $0) }, all: true)
        for instance in instances where instance.process.isRunning { await instance.process.stop() }
    }
}

/// Publishes AlertEvents (protobuf) to `system.ha` over a connection to all
/// three nodes; event `i` names alert `alert(i)`.
final class EventPublisher: Sendable {
    let connection: NATSConnection
    let jetStream: JetStream

    init(cluster: NATSCluster) async throws {
        let servers = cluster.urls
        connection = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: servers, name: "publisher", reconnectWait: .milliseconds(100)), logger: quietLogger)
        }
        jetStream = try JetStream(connection: connection)
    }

    static func event(_ index: Int, alert: Int) -> [UInt8] {
        ProtobufEventEncoder.encode(AlertEvent(alertType: HighAvailabilityTests.alertName(alert), severity: .warning, source: "ha-test",
                                               eventID: "evt-\(index)"))
    }

    /// Plain publishes, flushed every 1,000 (the stream captures them; see `waitUntilStored`).
    func publish(_ range: Range<Int>, alert: (Int) -> Int) throws {
        for index in range {
            try connection.publish(subject: "system.ha", payload: Self.event(index, alert: alert(index)))
            if index % 1_000 == 999 { try connection.flush() }
        }
        try connection.flush()
    }

    /// Publishes each event with the stream's acknowledgement, retrying each
    /// (same `Nats-Msg-Id`, so never stored twice) for up to 30 s while the
    /// stream elects a leader or the connection moves to another node.
    func publishAcknowledged(_ range: Range<Int>, alert: (Int) -> Int) async -> Bool {
        for index in range {
            let payload = Self.event(index, alert: alert(index))
            let jetStream = self.jetStream
            let stored = await waitUntilAsync(timeout: .seconds(30)) {
                (try? await runBlocking { () throws(NATSError) in
                    try jetStream.publish(subject: "system.ha", payload: payload, messageID: "evt-\(index)", timeout: .seconds(2))
                }) != nil
            }
            if !stored { return false }
        }
        return true
    }

    func storedCount() -> Int { (try? jetStream.messageCount(stream: "EVENTS")) ?? -1 }

    func waitUntilStored(_ count: Int, timeout: Duration = .seconds(20)) async -> Bool {
        await waitUntilAsync(timeout: timeout) {
            await runBlocking { self.storedCount() } >= count
        }
    }

    func close() { connection.close() }
}

/// GET a JSON document from an instance's HTTP API.
func httpJSON(port: Int, path: String) async throws -> Any? {
    let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    return try? JSONSerialization.jsonObject(with: data)
}

/// An instance's `/metrics` text ("" when it does not answer).
func metrics(port: Int) async -> String {
    guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!) else { return "" }
    return String(decoding: data, as: UTF8.self)
}
