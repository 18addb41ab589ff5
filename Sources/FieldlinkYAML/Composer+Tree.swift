/// Builds the node tree from events without recursion (an explicit stack of open collections), so
/// nesting depth costs heap, not stack; anchors are recorded when their node is complete, as in Yams.
struct Composer {
    let events: EventReader
    private var anchors: [String: Node] = [:]

    init(events: EventReader) {
        self.events = events
    }

    private enum Open {
        case sequence(Node.Sequence, items: [Node])
        case mapping(Node.Mapping, pairs: [(Node, Node)], key: Node?)
    }

    mutating func singleDocument() throws(YAMLError) -> Node? {
        _ = try events.next()  // stream start
        let first = try events.next()
        guard case .documentStart = first.kind else { return nil }
        let root = try document()
        let after = try events.next()
        guard case .streamEnd = after.kind else {
            throw .composer(problem: "expected a single document in the stream, but found another document", mark: after.mark)
        }
        return root
    }

    /// From after a document start up to and including its end.
    private mutating func document() throws(YAMLError) -> Node {
        var stack: [Open] = []
        while true {
            let event = try events.next()
            var done: Node
            switch event.kind {
            case .scalar(let scalar):
                done = .scalar(scalar)
                if let anchor = scalar.anchor { anchors[anchor] = done }
            case .alias(let anchor):
                guard let node = anchors[anchor] else { throw .composer(problem: "found undefined alias", mark: event.mark) }
                done = node
            case .sequenceStart(let tag, let style, let anchor):
                stack.append(.sequence(Node.Sequence([], tag, style, event.mark, anchor: anchor), items: []))
                guard stack.count <= YAML.maximumDepth else { throw Self.tooDeep(event.mark) }
                continue
            case .mappingStart(let tag, let style, let anchor):
                stack.append(.mapping(Node.Mapping([], tag, style, event.mark, anchor: anchor), pairs: [], key: nil))
                guard stack.count <= YAML.maximumDepth else { throw Self.tooDeep(event.mark) }
                continue
            case .sequenceEnd:
                guard case .sequence(let start, let items) = stack.popLast() else { throw Self.unexpected(event) }
                done = .sequence(Node.Sequence(items, start.tag, start.style, start.mark, anchor: start.anchor))
                if let anchor = start.anchor { anchors[anchor] = done }
            case .mappingEnd:
                guard case .mapping(let start, let pairs, .none) = stack.popLast() else { throw Self.unexpected(event) }
                try Self.checkDuplicates(pairs.map(\.0))
                done = .mapping(Node.Mapping(pairs, start.tag, start.style, start.mark, anchor: start.anchor))
                if let anchor = start.anchor { anchors[anchor] = done }
            default:
                throw Self.unexpected(event)
            }
            switch stack.popLast() {
            case nil:
                _ = try events.next()  // document end
                return done
            case .sequence(let start, var items):
                items.append(done)
                stack.append(.sequence(start, items: items))
            case .mapping(let start, var pairs, let key):
                if let key { pairs.append((key, done)) }
                stack.append(.mapping(start, pairs: pairs, key: key == nil ? done : nil))
            }
        }
    }

    /// Equal keys (same text and resolved tag) in one mapping: named in order, located at the first
    /// occurrence of the first of them.
    private static func checkDuplicates(_ keys: [Node]) throws(YAMLError) {
        var seen: [Node: Int] = [:]
        var duplicated: [Int] = []
        for (index, key) in keys.enumerated() {
            if let first = seen[key] {
                if !duplicated.contains(first) { duplicated.append(first) }
            } else {
                seen[key] = index
            }
        }
        guard !duplicated.isEmpty else { return }
        let sorted = duplicated.map { keys[$0] }.sorted { ($0.string ?? "") < ($1.string ?? "") }
        throw .duplicatedKeys(sorted.map { $0.string ?? "(a \($0.mapping != nil ? "mapping" : "list") as a key)" },
                              mark: sorted[0].mark ?? Mark(line: 1, column: 1))
    }

    private static func tooDeep(_ mark: Mark) -> YAMLError {
        .composer(problem: "collections nested deeper than \(YAML.maximumDepth) levels", mark: mark)
    }

    private static func unexpected(_ event: Event) -> YAMLError {
        .parser(problem: "unexpected \(event.kind)", mark: event.mark)
    }
}
