import FieldlinkCore

/// One device's batch in the making: readings waiting to go out together. Each keeps its own `ts`
/// and `seq`; the batch goes when it is full (messages or bytes) or its oldest is too old. `size`
/// is what an item adds to the message at most, so `maxBytes` is a bound on the encoded batch.
public struct Batcher<Item: Sendable>: Sendable {
    private var items: [Item] = []
    private var bytes = 0
    /// When the oldest waiting reading was taken, in ms of the clock `add` and `flushIfDue` are given.
    private var oldest: Int64?

    public init() {}

    public var isEmpty: Bool { items.isEmpty }

    /// Adds one reading; returns the batches that must go now (the one it would have overflowed,
    /// and/or the one it filled).
    public mutating func add(_ item: Item, size: Int, takenAt time: Int64, policy: BatchPolicy) -> [[Item]] {
        var ready: [[Item]] = []
        if !items.isEmpty, bytes + size > policy.maxBytes, let full = flush() {
            ready.append(full)
        }
        items.append(item)
        bytes += size
        oldest = oldest ?? time
        if items.count >= policy.maxMessages || bytes >= policy.maxBytes || isDue(now: time, policy: policy), let full = flush() {
            ready.append(full)
        }
        return ready
    }

    /// The batch, if its oldest reading has waited `maxDelay`.
    public mutating func flushIfDue(now: Int64, policy: BatchPolicy) -> [Item]? {
        isDue(now: now, policy: policy) ? flush() : nil
    }

    /// Whatever is waiting (shutdown, reload).
    public mutating func flush() -> [Item]? {
        guard !items.isEmpty else { return nil }
        defer {
            items = []
            bytes = 0
            oldest = nil
        }
        return items
    }

    private func isDue(now: Int64, policy: BatchPolicy) -> Bool {
        oldest.map { now - $0 >= policy.maxDelay.milliseconds } ?? false
    }
}
