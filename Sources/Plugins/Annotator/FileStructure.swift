import TraceSnapPluginKit

/// A region of lines that forms a structural context: a loop body, or one arm of a branch.
struct StructureContext: Equatable {
    /// Index of the node in `FileStructure.nodes`.
    let node: Int
    /// -1 for a loop body; otherwise the arm's index in the node's `arms`.
    let arm: Int
}

/// A loop or branch node of the static structure (from `tracesnap._structure`).
struct StructureNode {
    enum Kind { case loop, branch }
    struct Arm {
        let label: String
        let first: Int
        let last: Int
    }

    let id: [UInt8]
    let kind: Kind
    let subkind: String
    let header: Int
    let start: Int
    let end: Int
    /// Loop body.
    let body: ClosedRange<Int>?
    /// Branch arms; for a loop, its `else` arm (label "loop-else").
    let arms: [Arm]
}

/// The loops and branches of one source file, and for each line the contexts that contain it.
final class FileStructure {
    let nodes: [StructureNode]
    /// Contexts per line (index = line), computed on first use.
    private var cache: [[StructureContext]?] = []
    /// Loop node indices by header line (index = line).
    private var loopHeaders: [[Int]] = []
    /// The body of each `while` loop (index = node; nil for every other node).
    private(set) var whileBodies: [ClosedRange<Int>?] = []
    /// Whether a `while` body starts at the line (index = line): only there can a jump back
    /// start the next iteration without a header line event.
    private var whileBodyStarts: [Bool] = []

    /// Whether some `while` loop's body starts at `line`.
    @inline(__always)
    func hasWhileBodyStart(_ line: Int) -> Bool {
        line >= 0 && line < whileBodyStarts.count && whileBodyStarts[line]
    }

    /// Loops whose header is `line`.
    @inline(__always)
    func loops(headedAt line: Int) -> [Int] {
        line >= 0 && line < loopHeaders.count ? loopHeaders[line] : []
    }

    /// Arms that produce a branch event when entered, and the `taken` they report.
    static let takenByLabel: [String: String] = [
        "if": "if", "elif": "if", "else": "else", "case": "case", "except": "except", "loop-else": "else",
    ]

    init(nodes json: [JSONValue]) {
        var nodes: [StructureNode] = []
        for node in json {
            guard let kind = node["kind"]?.stringValue, let id = node["id"]?.stringValue,
                let start = node["lineno"]?.intValue, let end = node["end_lineno"]?.intValue
            else { continue }
            let subkind = node["subkind"]?.stringValue ?? ""
            if kind == "loop" {
                // Comprehensions run on one line (inlined on 3.12+): no per-iteration line events.
                if subkind == "comprehension" { continue }
                let header = Int(node["header"]?.intValue ?? start)
                var body: ClosedRange<Int>?
                if let range = node["body"]?.arrayValue, range.count == 2, let first = range[0].intValue,
                    let last = range[1].intValue, first <= last
                {
                    body = Int(first)...Int(last)
                } else if end > start {
                    body = Int(start + 1)...Int(end)
                }
                // A body on the header's own line cannot be told apart from the header.
                if let b = body, b.lowerBound <= header { body = nil }
                var arms: [StructureNode.Arm] = []
                if let range = node["orelse"]?.arrayValue, range.count == 2, let first = range[0].intValue,
                    let last = range[1].intValue
                {
                    arms.append(.init(label: "loop-else", first: Int(first), last: Int(last)))
                }
                nodes.append(
                    StructureNode(
                        id: Array(id.utf8), kind: .loop, subkind: subkind, header: header, start: Int(start),
                        end: Int(end), body: body, arms: arms))
            } else if kind == "branch" {
                var arms: [StructureNode.Arm] = []
                for arm in node["arms"]?.arrayValue ?? [] {
                    guard let label = arm["label"]?.stringValue, let first = arm["first"]?.intValue,
                        let last = arm["last"]?.intValue, first <= last
                    else { continue }
                    arms.append(.init(label: label, first: Int(first), last: Int(last)))
                }
                nodes.append(
                    StructureNode(
                        id: Array(id.utf8), kind: .branch, subkind: subkind, header: Int(start), start: Int(start),
                        end: Int(end), body: nil, arms: arms))
            }
        }
        self.nodes = nodes
        let lastLine = nodes.map(\.end).max() ?? 0
        cache = Array(repeating: nil, count: lastLine + 2)
        loopHeaders = Array(repeating: [], count: lastLine + 2)
        whileBodies = Array(repeating: nil, count: nodes.count)
        whileBodyStarts = Array(repeating: false, count: lastLine + 2)
        for (index, node) in nodes.enumerated() where node.kind == .loop && node.body != nil {
            if node.header >= 0 && node.header < loopHeaders.count { loopHeaders[node.header].append(index) }
            if node.subkind == "while", let body = node.body {
                whileBodies[index] = body
                if body.lowerBound >= 0 && body.lowerBound < whileBodyStarts.count { whileBodyStarts[body.lowerBound] = true }
            }
        }
    }

    /// The contexts containing `line`, outermost first.
    func contexts(at line: Int) -> [StructureContext] {
        guard line >= 0 && line < cache.count else { return [] }
        if let found = cache[line] { return found }
        var found: [(span: Int, context: StructureContext)] = []
        for (index, node) in nodes.enumerated() {
            guard line >= node.start && line <= node.end else { continue }
            if let body = node.body, body.contains(line) {
                found.append((body.count, StructureContext(node: index, arm: -1)))
            }
            for (armIndex, arm) in node.arms.enumerated() where line >= arm.first && line <= arm.last {
                if FileStructure.takenByLabel[arm.label] != nil {
                    found.append((arm.last - arm.first + 1, StructureContext(node: index, arm: armIndex)))
                }
            }
        }
        // Outermost (largest) first; ties keep source order.
        let ordered = found.enumerated().sorted {
            $0.element.span != $1.element.span ? $0.element.span > $1.element.span : $0.offset < $1.offset
        }.map(\.element.context)
        cache[line] = ordered
        return ordered
    }

    /// Whether `line` lies in loop `node` (its header, body or else arm).
    func loop(_ node: Int, covers line: Int) -> Bool {
        let n = nodes[node]
        return line >= n.start && line <= n.end
    }
}
