@testable import AlertCore
import Testing

@Suite("Rules: the sample ring")
struct SampleRingTests {
    @Test("appends, evictions and growth keep the newest samples in order, like a plain array would")
    func matchesArrayModel() {
        var generator = SystemRandomNumberGenerator()
        for capacity in [1, 3, 10, 64] {
            var ring = SampleRing(capacity: capacity)
            var model: [(Double, Int64)] = []
            var time: Int64 = 0
            for _ in 0..<2000 {
                if Int.random(in: 0..<4, using: &generator) == 0 {
                    let cutoff = time - Int64.random(in: 0...20, using: &generator)
                    ring.evict(before: cutoff)
                    model.removeAll { $0.1 < cutoff }
                } else {
                    time += Int64.random(in: 0...3, using: &generator)
                    let value = Double.random(in: -10...10, using: &generator)
                    ring.append(value, at: time)
                    model.append((value, time))
                    if model.count > capacity { model.removeFirst() }
                }
                #expect(ring.count == model.count)
                #expect(ring.samples.values == model.map(\.0) && ring.samples.times == model.map(\.1))
                if !model.isEmpty {
                    let sum = model.reduce(0) { $0 + $1.0 }
                    #expect(abs((ring.aggregate(.sum) ?? .nan) - sum) < 1e-9)
                    #expect(ring.aggregate(.max) == model.map(\.0).max())
                    #expect(ring.aggregate(.min) == model.map(\.0).min())
                }
            }
        }
    }

    @Test("rate counts a drop as a counter reset and needs elapsed time")
    func rate() {
        var ring = SampleRing(capacity: 10)
        ring.append(10, at: 0)
        #expect(ring.aggregate(.rate) == nil)
        ring.append(20, at: 0)
        #expect(ring.aggregate(.rate) == nil, "no time elapsed")
        ring.append(4, at: 2000)   // reset: +4
        #expect(ring.aggregate(.rate) == 7)  // (10 + 4) / 2 s
    }
}
