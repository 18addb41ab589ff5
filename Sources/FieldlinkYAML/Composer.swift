import CYAML

/// Composes YAML text into one `Node` tree with libyaml's event parser (`yaml_parser_parse`).
public enum YAML {
    /// Collections nested deeper than this are refused: a config never needs it, and a hostile
    /// file must not exhaust the stack of whatever walks the tree.
    public static let maximumDepth = 256

    /// The single document in `text`, or nil when there is none (an empty file or only comments).
    /// Aliases are replaced by their anchored nodes; a second document is an error.
    public static func compose(yaml text: String) throws(YAMLError) -> Node? {
        let events = try EventReader(bytes: Array(text.utf8))
        var composer = Composer(events: events)
        return try composer.singleDocument()
    }
}

/// One libyaml event, copied out of C memory into Swift values.
struct Event {
    enum Kind {
        case streamStart, streamEnd, documentStart, documentEnd
        case alias(anchor: String)
        case scalar(Node.Scalar)
        case sequenceStart(tag: Tag, style: Node.CollectionStyle, anchor: String?)
        case sequenceEnd
        case mappingStart(tag: Tag, style: Node.CollectionStyle, anchor: String?)
        case mappingEnd
    }

    var kind: Kind
    var mark: Mark
}

/// Owns a `yaml_parser_t` and its input; each `next()` is one `yaml_parser_parse`, its failure a
/// typed `YAMLError`. The parser holds a pointer to itself and to the input, so both live on the heap.
final class EventReader {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    private let input: UnsafeMutableBufferPointer<UInt8>

    init(bytes: [UInt8]) throws(YAMLError) {
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        guard yaml_parser_initialize(parser) == 1 else {
            parser.deallocate()
            input.deallocate()
            throw .memory
        }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// The next event. Wraps `yaml_parser_parse` and `yaml_event_delete`.
    func next() throws(YAMLError) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw error() }
        defer { yaml_event_delete(&event) }
        let mark = Mark(line: event.start_mark.line + 1, column: event.start_mark.column + 1)
        switch event.type {
        case YAML_STREAM_START_EVENT: return Event(kind: .streamStart, mark: mark)
        case YAML_STREAM_END_EVENT: return Event(kind: .streamEnd, mark: mark)
        case YAML_DOCUMENT_START_EVENT: return Event(kind: .documentStart, mark: mark)
        case YAML_DOCUMENT_END_EVENT: return Event(kind: .documentEnd, mark: mark)
        case YAML_ALIAS_EVENT: return Event(kind: .alias(anchor: Self.text(event.data.alias.anchor) ?? ""), mark: mark)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            // A quoted scalar without a tag is a string whatever its text (`"42"`); a plain one resolves later.
            let tag = scalar.quoted_implicit == 1 ? Tag(.str) : Self.tag(scalar.tag)
            let style = Node.Scalar.Style(rawValue: scalar.style.rawValue) ?? .any
            return Event(kind: .scalar(Node.Scalar(value, tag, style, mark, anchor: Self.text(scalar.anchor))), mark: mark)
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            return Event(kind: .sequenceStart(tag: start.implicit != 0 ? .implicit : Self.tag(start.tag),
                                              style: Node.CollectionStyle(rawValue: start.style.rawValue) ?? .any, anchor: Self.text(start.anchor)),
                         mark: mark)
        case YAML_SEQUENCE_END_EVENT: return Event(kind: .sequenceEnd, mark: mark)
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            return Event(kind: .mappingStart(tag: start.implicit != 0 ? .implicit : Self.tag(start.tag),
                                             style: Node.CollectionStyle(rawValue: start.style.rawValue) ?? .any, anchor: Self.text(start.anchor)),
                         mark: mark)
        case YAML_MAPPING_END_EVENT: return Event(kind: .mappingEnd, mark: mark)
        default: throw .parser(problem: "unexpected event \(event.type.rawValue)", mark: mark)
        }
    }

    private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private static func tag(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> Tag {
        text(pointer).map { Tag(Tag.Name(rawValue: $0)) } ?? .implicit
    }

    /// The parser's error as a `YAMLError`, with libyaml's own words for the problem.
    private func error() -> YAMLError {
        let problem = parser.pointee.problem.map { String(cString: $0) } ?? "unknown problem"
        let mark = Mark(line: parser.pointee.problem_mark.line + 1, column: parser.pointee.problem_mark.column + 1)
        switch parser.pointee.error {
        case YAML_MEMORY_ERROR: return .memory
        case YAML_READER_ERROR: return .reader(problem: problem, mark: readerMark(offset: parser.pointee.problem_offset))
        case YAML_SCANNER_ERROR: return .scanner(problem: problem, mark: mark)
        default: return .parser(problem: problem, mark: mark)
        }
    }

    /// A reader error carries only a byte offset: turn it into a line and column.
    private func readerMark(offset: Int) -> Mark {
        var line = 1
        var column = 1
        for byte in input.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return Mark(line: line, column: column)
    }
}
