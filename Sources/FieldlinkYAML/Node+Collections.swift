extension Node {
    /// A mapping's entries in file order (duplicates are refused when composing). Equal to another
    /// when its entries and tag are, wherever they stand in the file.
    public struct Mapping: RandomAccessCollection, Hashable, Sendable {
        public typealias Element = (key: Node, value: Node)
        public typealias Style = CollectionStyle

        private var pairs: [Element]
        public var tag: Tag
        public var style: Style
        public var mark: Mark?
        /// The `&name` it was defined with, if any.
        public var anchor: String?

        public init(_ pairs: [(Node, Node)], _ tag: Tag = .implicit, _ style: Style = .any, _ mark: Mark? = nil, anchor: String? = nil) {
            self.pairs = pairs.map { (key: $0.0, value: $0.1) }
            self.tag = tag
            self.style = style
            self.mark = mark
            self.anchor = anchor
        }

        public var startIndex: Int { pairs.startIndex }
        public var endIndex: Int { pairs.endIndex }
        public subscript(index: Int) -> Element { pairs[index] }

        public var keys: [Node] { pairs.map(\.key) }

        /// The value under the key `string` would be if written plain, as in Yams: its text and
        /// resolved tag must match, so `mapping["yes"]` finds a key written `yes` (a bool), not `"yes"`.
        public subscript(string: String) -> Node? {
            let key = Node.scalar(Scalar(string))
            return pairs.last(where: { $0.key == key })?.value
        }

        public static func == (lhs: Mapping, rhs: Mapping) -> Bool {
            lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
                && Node.mapping(lhs).tag == Node.mapping(rhs).tag
        }

        public func hash(into hasher: inout Hasher) {
            for pair in pairs {
                hasher.combine(pair.key)
                hasher.combine(pair.value)
            }
        }
    }

    /// A list's elements in file order.
    public struct Sequence: RandomAccessCollection, Hashable, Sendable {
        public typealias Style = CollectionStyle

        private var nodes: [Node]
        public var tag: Tag
        public var style: Style
        public var mark: Mark?
        /// The `&name` it was defined with, if any.
        public var anchor: String?

        public init(_ nodes: [Node], _ tag: Tag = .implicit, _ style: Style = .any, _ mark: Mark? = nil, anchor: String? = nil) {
            self.nodes = nodes
            self.tag = tag
            self.style = style
            self.mark = mark
            self.anchor = anchor
        }

        public var startIndex: Int { nodes.startIndex }
        public var endIndex: Int { nodes.endIndex }
        public subscript(index: Int) -> Node { nodes[index] }

        public static func == (lhs: Sequence, rhs: Sequence) -> Bool {
            lhs.nodes == rhs.nodes && Node.sequence(lhs).tag == Node.sequence(rhs).tag
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(nodes) }
    }
}
