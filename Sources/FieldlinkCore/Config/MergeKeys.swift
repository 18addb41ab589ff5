import FieldlinkYAML

/// YAML merge keys (`<<: *meter`, `<<: [*meter, *fast]`), resolved on the node tree so that every
/// merged-in key and value keeps its own mark: a problem in an anchor is reported at the anchor's
/// line, not at the device that merged it.
///
/// The composer dereferences aliases, but leaves `<<` as an ordinary key (merging while composing
/// would have to choose one mark for a merged key; here each keeps its own). Rules (yaml.org/type/merge):
/// explicit keys win over merged ones; in a list of mappings, an earlier one wins over a later one;
/// merges nest (an anchor may itself merge another).
enum MergeKeys {
    /// `node` with every mapping's `<<` entries replaced by the keys they bring in.
    static func resolve(_ node: Node, path: String, diagnostics: ConfigDiagnostics) -> Node {
        switch node {
        case .mapping(let mapping):
            return .mapping(resolve(mapping, path: path, diagnostics: diagnostics))
        case .sequence(let sequence):
            let nodes = sequence.enumerated().map { index, element in
                resolve(element, path: "\(path)[\(index)]", diagnostics: diagnostics)
            }
            return .sequence(Node.Sequence(nodes, sequence.tag, sequence.style, sequence.mark))
        case .scalar:
            return node
        }
    }

    static func isMergeKey(_ key: Node) -> Bool {
        guard case .scalar(let scalar) = key else { return false }
        return scalar.string == "<<" && scalar.style == .plain
    }

    private static func resolve(_ mapping: Node.Mapping, path: String, diagnostics: ConfigDiagnostics) -> Node.Mapping {
        var own: [(Node, Node)] = []
        var merged: [(Node, Node)] = []
        for (key, value) in mapping {
            let child = path.isEmpty ? (key.string ?? "?") : "\(path).\(key.string ?? "?")"
            guard isMergeKey(key) else {
                own.append((key, resolve(value, path: child, diagnostics: diagnostics)))
                continue
            }
            let sources: [Node]
            switch value {
            case .mapping: sources = [value]
            case .sequence(let list): sources = Array(list)
            default: sources = []
            }
            if sources.isEmpty || sources.contains(where: { $0.mapping == nil }) {
                diagnostics.report("<< merges a mapping or a list of mappings (write <<: *anchor or <<: [*a, *b])", at: value, path: child)
                continue
            }
            for source in sources {
                guard case .mapping(let resolved) = resolve(source, path: child, diagnostics: diagnostics) else { continue }
                merged.append(contentsOf: resolved.map { ($0.key, $0.value) })
            }
        }
        var pairs = own
        for (key, value) in merged where !pairs.contains(where: { $0.0 == key }) {
            pairs.append((key, value))
        }
        return Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark)
    }
}
