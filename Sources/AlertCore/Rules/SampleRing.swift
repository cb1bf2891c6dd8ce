/// The recent samples of one series: values and their times (milliseconds
/// since the epoch), oldest first, in a ring that never holds more than
/// `capacity`. Appending into a full ring overwrites the oldest sample, so
/// the hot path allocates only while a ring is still growing to its capacity.
struct SampleRing: Sendable, Equatable {
    private var values: [Double] = []
    private var times: [Int64] = []
    /// Index of the oldest sample.
    private var head = 0
    private(set) var count = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        // Small windows (the usual "last 10 samples") are allocated once, up front.
        if self.capacity <= 1024 {
            values.reserveCapacity(self.capacity)
            times.reserveCapacity(self.capacity)
        }
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ value: Double, at time: Int64) {
        if count < values.count {
            let index = (head + count) % values.count
            values[index] = value
            times[index] = time
            count += 1
        } else if values.count < capacity {
            if head != 0 { straighten() }
            values.append(value)
            times.append(time)
            count += 1
        } else {
            values[head] = value
            times[head] = time
            head = (head + 1) % values.count
        }
    }

    /// Drops samples older than `cutoff`.
    mutating func evict(before cutoff: Int64) {
        while count > 0, times[head] < cutoff {
            head = (head + 1) % values.count
            count -= 1
        }
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }

    @inline(__always)
    func value(at offset: Int) -> Double { values[(head + offset) % values.count] }
    @inline(__always)
    func time(at offset: Int) -> Int64 { times[(head + offset) % values.count] }

    var oldestTime: Int64? { count > 0 ? time(at: 0) : nil }

    /// The aggregate of the samples held; nil when it is undefined (no
    /// samples; a rate over less than two samples or no elapsed time).
    func aggregate(_ function: Aggregation) -> Double? {
        guard count > 0 else { return nil }
        switch function {
        case .sum, .avg:
            var sum = 0.0
            for offset in 0..<count { sum += value(at: offset) }
            return function == .sum ? sum : sum / Double(count)
        case .min:
            var result = value(at: 0)
            for offset in 1..<count { result = Swift.min(result, value(at: offset)) }
            return result
        case .max:
            var result = value(at: 0)
            for offset in 1..<count { result = Swift.max(result, value(at: offset)) }
            return result
        case .rate:
            guard count > 1 else { return nil }
            let seconds = Double(time(at: count - 1) - time(at: 0)) / 1000
            guard seconds > 0 else { return nil }
            // A drop is a counter reset: the new value is all increase.
            var increase = 0.0
            var previous = value(at: 0)
            for offset in 1..<count {
                let current = value(at: offset)
                increase += current >= previous ? current - previous : current
                previous = current
            }
            return increase / seconds
        }
    }

    /// Oldest first, for persistence.
    var samples: (values: [Double], times: [Int64]) {
        ((0..<count).map(value(at:)), (0..<count).map(time(at:)))
    }

    /// Rebuilds a ring from persisted samples, keeping the newest `capacity`.
    init(capacity: Int, values: [Double], times: [Int64]) {
        self.init(capacity: capacity)
        for (value, time) in zip(values, times).suffix(self.capacity) { append(value, at: time) }
    }

    static func == (lhs: SampleRing, rhs: SampleRing) -> Bool {
        lhs.capacity == rhs.capacity && lhs.samples.values == rhs.samples.values && lhs.samples.times == rhs.samples.times
    }

    private mutating func straighten() {
        let ordered = samples
        values = ordered.values
        times = ordered.times
        head = 0
    }
}
