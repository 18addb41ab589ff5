/// Why a YAML text did not compose, and where (1-based line and column).
public enum YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bytes that are not YAML text at all (a control character).
    case reader(problem: String, mark: Mark)
    /// A token that cannot start here (a tab for indentation, an unclosed quote).
    case scanner(problem: String, mark: Mark)
    /// Tokens in an order YAML does not allow (`a: b: c`, an unclosed `[`).
    case parser(problem: String, mark: Mark)
    /// Well-formed YAML that does not make one node tree (an undefined alias, a second document).
    case composer(problem: String, mark: Mark)
    /// The same key twice in one mapping: each key, and the first place one of them is written.
    case duplicatedKeys([String], mark: Mark)
    /// libyaml could not allocate memory.
    case memory

    public var mark: Mark {
        switch self {
        case .reader(_, let mark), .scanner(_, let mark), .parser(_, let mark), .composer(_, let mark), .duplicatedKeys(_, let mark): mark
        case .memory: Mark(line: 1, column: 1)
        }
    }

    public var description: String {
        switch self {
        case .reader(let problem, let mark), .scanner(let problem, let mark), .parser(let problem, let mark), .composer(let problem, let mark):
            "\(mark): \(problem)"
        case .duplicatedKeys(let keys, let mark): "\(mark): duplicate key \(keys.map { "\"\($0)\"" }.joined(separator: ", "))"
        case .memory: "out of memory"
        }
    }
}
