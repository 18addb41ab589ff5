/// Turns a stream of per-poll states into log-worthy changes, counting the repeats in between.
///
/// A dead slave polled every second must produce one log line when it dies and one when it
/// returns, not 86,400 a day.
public struct StateChangeFilter<State: Equatable & Sendable>: Sendable {
    public private(set) var current: State?
    /// How many times `current` was seen since it last changed.
    public private(set) var repeats = 0

    public init() {}

    /// Returns the previous state and how often it repeated when `state` differs from it; nil otherwise.
    public mutating func update(_ state: State) -> (previous: State?, repeats: Int)? {
        if let current, current == state {
            repeats += 1
            return nil
        }
        defer {
            current = state
            repeats = 1
        }
        return (current, repeats)
    }
}
