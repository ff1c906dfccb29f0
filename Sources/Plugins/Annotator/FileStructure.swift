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
///
/// What the per-line path reads (contexts per line, loop headers per line, node spans and ids)
/// lives in plain memory owned by the structure, handed out as buffer views: reading it costs no
/// reference counting and no copy of a node.
final class FileStructure {
    let nodes: [StructureNode]
    /// Lines 0...lastLine have entries in the per-line tables.
    private let lineCount: Int
    /// Per line: where its contexts start in `contextPool` and how many (-1: not computed yet).
    private let contextSpans: UnsafeMutablePointer<(start: Int32, count: Int32)>
    /// The contexts of every computed line, back to back (grows as lines are first seen).
    private var contextPool: UnsafeMutablePointer<StructureContext>
    private var contextPoolCount = 0
    private var contextPoolCapacity = 64
    /// Per line: where its loop headers start in `headerPool` and how many.
    private let headerSpans: UnsafeMutablePointer<(start: Int32, count: Int32)>
    private let headerPool: UnsafeMutablePointer<Int>
    /// Per node: its first and last line (header, body or else arm).
    private let nodeSpans: UnsafeMutablePointer<(start: Int, end: Int)>
    /// Per node: its id's bytes, at a fixed address for the structure's life.
    private let nodeIDs: UnsafeMutablePointer<UnsafeRawBufferPointer>
    /// The body of each `while` loop (index = node; nil for every other node).
    private(set) var whileBodies: [ClosedRange<Int>?] = []
    /// Whether a `while` body starts at the line (index = line): only there can a jump back
    /// start the next iteration without a header line event.
    private let whileBodyStarts: UnsafeMutablePointer<Bool>

    /// Whether some `while` loop's body starts at `line`.
    @inline(__always)
    func hasWhileBodyStart(_ line: Int) -> Bool {
        line >= 0 && line < lineCount && whileBodyStarts[line]
    }

    /// Loops whose header is `line`.
    @inline(__always)
    func loops(headedAt line: Int) -> UnsafeBufferPointer<Int> {
        guard line >= 0 && line < lineCount else { return UnsafeBufferPointer(start: nil, count: 0) }
        let span = headerSpans[line]
        return UnsafeBufferPointer(start: headerPool + Int(span.start), count: Int(span.count))
    }

    /// The id of node `index`, valid for the structure's life.
    @inline(__always)
    func id(of index: Int) -> UnsafeRawBufferPointer { nodeIDs[index] }

    /// Per node: where its arms start in `armTexts`.
    private let armStarts: UnsafeMutablePointer<Int>
    /// Per arm of every node: the branch event's `taken` and `extra_json` bytes, built once.
    private let armTexts: UnsafeMutablePointer<(taken: UnsafeRawBufferPointer, extra: UnsafeRawBufferPointer)>
    private let armTextCount: Int

    /// What a branch event into arm `arm` of node `node` reports, valid for the structure's life.
    @inline(__always)
    func armText(node: Int, arm: Int) -> (taken: UnsafeRawBufferPointer, extra: UnsafeRawBufferPointer) {
        armTexts[armStarts[node] + arm]
    }

    private static func stableBytes(_ text: String) -> UnsafeRawBufferPointer {
        let bytes = Array(text.utf8)
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<bytes.count])
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
        lineCount = max(0, lastLine + 2)
        contextSpans = .allocate(capacity: max(1, lineCount))
        contextSpans.initialize(repeating: (0, -1), count: lineCount)
        contextPool = .allocate(capacity: contextPoolCapacity)
        var headers = [[Int]](repeating: [], count: lineCount)
        whileBodies = Array(repeating: nil, count: nodes.count)
        whileBodyStarts = .allocate(capacity: max(1, lineCount))
        whileBodyStarts.initialize(repeating: false, count: lineCount)
        for (index, node) in nodes.enumerated() where node.kind == .loop && node.body != nil {
            if node.header >= 0 && node.header < lineCount { headers[node.header].append(index) }
            if node.subkind == "while", let body = node.body {
                whileBodies[index] = body
                if body.lowerBound >= 0 && body.lowerBound < lineCount { whileBodyStarts[body.lowerBound] = true }
            }
        }
        headerSpans = .allocate(capacity: max(1, lineCount))
        headerPool = .allocate(capacity: max(1, headers.reduce(0) { $0 + $1.count }))
        var next = 0
        for (line, loops) in headers.enumerated() {
            headerSpans[line] = (Int32(next), Int32(loops.count))
            for loop in loops {
                headerPool[next] = loop
                next += 1
            }
        }
        nodeSpans = .allocate(capacity: max(1, nodes.count))
        nodeIDs = .allocate(capacity: max(1, nodes.count))
        armStarts = .allocate(capacity: max(1, nodes.count))
        armTextCount = nodes.reduce(0) { $0 + $1.arms.count }
        armTexts = .allocate(capacity: max(1, armTextCount))
        var nextArm = 0
        for (index, node) in nodes.enumerated() {
            nodeSpans[index] = (node.start, node.end)
            nodeIDs[index] = FileStructure.stableBytes(String(decoding: node.id, as: UTF8.self))
            armStarts[index] = nextArm
            for (armIndex, arm) in node.arms.enumerated() {
                let taken = FileStructure.stableBytes(FileStructure.takenByLabel[arm.label] ?? arm.label)
                let extra = FileStructure.stableBytes("\"arm\":\"\(arm.label)\",\"arm_index\":\(armIndex)")
                (armTexts + nextArm).initialize(to: (taken, extra))
                nextArm += 1
            }
        }
    }

    deinit {
        for index in 0..<nodes.count { UnsafeMutableRawPointer(mutating: nodeIDs[index].baseAddress)?.deallocate() }
        for index in 0..<armTextCount {
            UnsafeMutableRawPointer(mutating: armTexts[index].taken.baseAddress)?.deallocate()
            UnsafeMutableRawPointer(mutating: armTexts[index].extra.baseAddress)?.deallocate()
        }
        armTexts.deallocate()
        armStarts.deallocate()
        nodeIDs.deallocate()
        nodeSpans.deallocate()
        headerPool.deallocate()
        headerSpans.deallocate()
        whileBodyStarts.deallocate()
        contextPool.deallocate()
        contextSpans.deallocate()
    }

    /// The contexts containing `line`, outermost first; valid until the next call.
    @inline(__always)
    func contexts(at line: Int) -> UnsafeBufferPointer<StructureContext> {
        guard line >= 0 && line < lineCount else { return UnsafeBufferPointer(start: nil, count: 0) }
        var span = contextSpans[line]
        if span.count < 0 { span = computeContexts(at: line) }
        return UnsafeBufferPointer(start: contextPool + Int(span.start), count: Int(span.count))
    }

    private func computeContexts(at line: Int) -> (start: Int32, count: Int32) {
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
        if contextPoolCount + ordered.count > contextPoolCapacity {
            var capacity = contextPoolCapacity * 2
            while capacity < contextPoolCount + ordered.count { capacity *= 2 }
            let grown = UnsafeMutablePointer<StructureContext>.allocate(capacity: capacity)
            grown.moveInitialize(from: contextPool, count: contextPoolCount)
            contextPool.deallocate()
            contextPool = grown
            contextPoolCapacity = capacity
        }
        for (offset, context) in ordered.enumerated() { (contextPool + contextPoolCount + offset).initialize(to: context) }
        let span = (start: Int32(contextPoolCount), count: Int32(ordered.count))
        contextPoolCount += ordered.count
        contextSpans[line] = span
        return span
    }

    /// Whether `line` lies in loop `node` (its header, body or else arm).
    @inline(__always)
    func loop(_ node: Int, covers line: Int) -> Bool {
        let span = nodeSpans[node]
        return line >= span.start && line <= span.end
    }
}
