/// A composed YAML node: what the config reader walks. Every node keeps its mark (line and
/// column, 1-based), its tag as written and, for scalars, its style, so a problem is reported where
/// it is and `"yes"` stays a string while `yes` is a bool. Aliases are dereferenced when composing:
/// an alias stands for the anchored node itself, mark included. The shape follows Yams' `Node`,
/// which the config reader was written against.
public enum Node: Hashable, Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    /// Where the node starts in its file.
    public var mark: Mark? {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .mapping(let mapping): mapping.mark
        case .sequence(let sequence): sequence.mark
        }
    }

    /// The node's tag after resolution: a plain `42` is `!!int`, a quoted `"42"` is `!!str`.
    public var tag: Tag {
        switch self {
        case .scalar(let scalar): scalar.resolvedTag
        case .mapping(let mapping): mapping.tag.name == .implicit ? Tag(.map) : mapping.tag
        case .sequence(let sequence): sequence.tag.name == .implicit ? Tag(.seq) : sequence.tag
        }
    }

    /// The scalar's text; nil for a mapping or a list.
    public var string: String? { scalar?.string }

    public var scalar: Scalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }

    public var mapping: Mapping? {
        if case .mapping(let mapping) = self { return mapping }
        return nil
    }

    public var sequence: Sequence? {
        if case .sequence(let sequence) = self { return sequence }
        return nil
    }

    /// The scalar as an integer, when it resolves to `!!int` (`42`, `0x2A`, `0o52`, `0b101010`, `1_000`).
    public var int: Int? { scalar.flatMap { $0.resolvedTag.name == .int ? ScalarResolver.int($0.string) : nil } }

    /// The scalar as a number, when it resolves to `!!float` or `!!int`.
    public var float: Double? {
        guard let scalar else { return nil }
        switch scalar.resolvedTag.name {
        case .float: return ScalarResolver.float(scalar.string)
        case .int: return ScalarResolver.int(scalar.string).map(Double.init)
        default: return nil
        }
    }

    /// The scalar as a bool, when it resolves to `!!bool` (`true`, `yes`, `on` and their opposites).
    public var bool: Bool? { scalar.flatMap { $0.resolvedTag.name == .bool ? ScalarResolver.bool($0.string) : nil } }

    /// True for a scalar that resolves to `!!null` (`~`, `null`, or nothing at all).
    public var isNull: Bool { scalar?.resolvedTag.name == .null }
}

/// A position in a YAML text, 1-based as editors count.
public struct Mark: Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A YAML tag (`!!str`, `!!int`, ...); `.implicit` until resolved from a plain scalar's text.
public struct Tag: Hashable, Sendable, CustomStringConvertible {
    public var name: Name

    public init(_ name: Name) { self.name = name }

    public static let implicit = Tag(.implicit)

    public var description: String { name.rawValue }

    /// The tag's full name, e.g. `tag:yaml.org,2002:int`.
    public struct Name: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let implicit = Name(rawValue: "")
        public static let nonSpecific = Name(rawValue: "!")
        public static let str = Name(rawValue: "tag:yaml.org,2002:str")
        public static let seq = Name(rawValue: "tag:yaml.org,2002:seq")
        public static let map = Name(rawValue: "tag:yaml.org,2002:map")
        public static let bool = Name(rawValue: "tag:yaml.org,2002:bool")
        public static let float = Name(rawValue: "tag:yaml.org,2002:float")
        public static let null = Name(rawValue: "tag:yaml.org,2002:null")
        public static let int = Name(rawValue: "tag:yaml.org,2002:int")
        public static let merge = Name(rawValue: "tag:yaml.org,2002:merge")
        public static let timestamp = Name(rawValue: "tag:yaml.org,2002:timestamp")
        public static let value = Name(rawValue: "tag:yaml.org,2002:value")
    }
}

extension Node {
    /// A scalar: its text, its tag as written (`.implicit` for a plain scalar without one, `!!str`
    /// for a quoted one), its style and where it starts. Two scalars are equal when their text and
    /// resolved tag are (so `1` and `"1"` are different mapping keys, as in Yams).
    public struct Scalar: Hashable, Sendable {
        public var string: String
        public var tag: Tag
        public var style: Style
        public var mark: Mark?
        /// The `&name` it was defined with, if any.
        public var anchor: String?

        /// libyaml's `yaml_scalar_style_t`, in its order.
        public enum Style: UInt32, Sendable {
            case any = 0, plain, singleQuoted, doubleQuoted, literal, folded
        }

        public init(_ string: String, _ tag: Tag = .implicit, _ style: Style = .any, _ mark: Mark? = nil, anchor: String? = nil) {
            self.string = string
            self.tag = tag
            self.style = style
            self.mark = mark
            self.anchor = anchor
        }

        /// The tag after resolving a plain scalar's text by YAML 1.1's rules (`yes` is a bool).
        public var resolvedTag: Tag {
            switch tag.name {
            case .implicit: Tag(ScalarResolver.tag(of: string))
            case .nonSpecific: Tag(.str)
            default: tag
            }
        }

        public static func == (lhs: Scalar, rhs: Scalar) -> Bool {
            lhs.string == rhs.string && lhs.resolvedTag == rhs.resolvedTag
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(string)
            hasher.combine(resolvedTag)
        }
    }

    /// Block (indented) or flow (`{...}`, `[...]`) style of a mapping or a list; libyaml's order.
    public enum CollectionStyle: UInt32, Sendable {
        case any = 0, block, flow
    }
}
