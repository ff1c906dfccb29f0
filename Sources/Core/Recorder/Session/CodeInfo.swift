import CTraceSnapPython

/// Where a tracked name lives, as computed by `tracesnap._codeinfo` (SCOPE_* there).
enum NameScope: Int {
    /// A function local, argument, cell or free variable.
    case fast = 0
    /// A module global written from a function (`global x`).
    case global = 1
    /// A name in a module or class body namespace.
    case namespace = 2
}

/// A name the recorder reads after some lines run.
struct TrackedName {
    /// The interned `str` object (retained), used for lookups.
    let object: PyObjectPointer
    let utf8: StableString
    let scope: NameScope
}

/// The names to read after one line: the ones it binds or deletes, and the ones whose objects it
/// may mutate in place (indices into `CodeInfo.names`). A view into memory the `CodeInfo` owns,
/// so reading it per line costs no reference counting.
struct LineChecks {
    let stores: UnsafeBufferPointer<Int32>
    let candidates: UnsafeBufferPointer<Int32>
}

/// What the recorder knows about one code object, computed once by the Python-side analyzer
/// (`tracesnap._codeinfo.analyze_code`) and cached by code-object address.
final class CodeInfo {
    /// The code object, retained so its address cannot be reused while cached.
    let code: PyObjectPointer
    let traced: Bool
    let file: StableString
    let function: StableString
    let flags: Int
    /// Optimized (function) frame; false for module and class bodies.
    let isFunction: Bool
    let isModule: Bool
    let names: [TrackedName]
    let argumentCount: Int
    /// `co_firstlineno` (the `def` line; 0 for module bodies, as the trace format writes it).
    let firstLine: Int32
    private let firstTableLine: Int
    /// Per line from `firstTableLine`: where its stores start in `checkIndices`, how many stores
    /// and how many candidates follow (-1 stores: no checks for that line).
    private let table: UnsafeMutableBufferPointer<(start: Int32, stores: Int32, candidates: Int32)>
    /// The index lists of all lines back to back (the first `checkCount` entries are used).
    private let checkIndices: UnsafeMutableBufferPointer<Int32>
    private let checkCount: Int
    /// Lines of `except` clauses, `finally` bodies and `with` statements: while an exception is
    /// pending, running them does not mean it was handled.
    let handlerLines: Set<Int32>

    /// Some line stores a `global` name (see `Recorder.rememberGlobalsBefore`).
    let hasGlobalStores: Bool

    /// A generator, coroutine or async generator: its frames suspend and resume.
    var isResumable: Bool { flags & (0x20 | 0x80 | 0x100 | 0x200) != 0 }

    /// A coroutine or async generator (CO_COROUTINE, CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR):
    /// its frames run inside an asyncio task.
    var isAsync: Bool { flags & (0x80 | 0x100 | 0x200) != 0 }

    /// An untraced code object.
    init(untraced code: PyObjectPointer) {
        self.code = code
        Py_IncRef(code)
        traced = false
        file = .empty
        function = .empty
        flags = 0
        isFunction = true
        isModule = false
        names = []
        argumentCount = 0
        firstLine = 0
        firstTableLine = 0
        table = .allocate(capacity: 0)
        checkIndices = .allocate(capacity: 1)
        checkCount = 0
        handlerLines = []
        hasGlobalStores = false
    }

    /// Builds from the analyzer's tuple (see `_codeinfo.analyze_code` for the positions).
    init?(code: PyObjectPointer, analysis: PyObjectPointer) {
        guard PyTuple_Size(analysis) >= 10 else { return nil }
        func item(_ index: Int) -> PyObjectPointer? { PyTuple_GetItem(analysis, index) }
        guard let fileObject = item(0), let fileBytes = Py.utf8(fileObject),
            let nameObject = item(1), let nameBytes = Py.utf8(nameObject),
            let flagValue = Py.int(item(2)), let isFunctionObject = item(3),
            let namesTuple = item(4), let scopesTuple = item(5),
            let argumentCount = Py.int(item(6)), let linesTuple = item(7)
        else {
            PyErr_Clear()
            return nil
        }
        self.code = code
        Py_IncRef(code)
        traced = true
        file = StableString(fileBytes)
        function = StableString(nameBytes)
        flags = flagValue
        isFunction = isFunctionObject == TSPy_True()
        isModule = function.string == "<module>"
        self.argumentCount = argumentCount
        self.firstLine = isModule ? 0 : Int32(clamping: Py.int(item(8)) ?? 0)

        var names: [TrackedName] = []
        let nameCount = Int(PyTuple_Size(namesTuple))
        for index in 0..<nameCount {
            guard let object = PyTuple_GetItem(namesTuple, index), let bytes = Py.utf8(object) else { continue }
            Py_IncRef(object)
            let scope = NameScope(rawValue: Py.int(PyTuple_GetItem(scopesTuple, index)) ?? 0) ?? .fast
            names.append(TrackedName(object: object, utf8: StableString(bytes), scope: scope))
        }
        self.names = names

        var entries: [(line: Int, stores: [Int32], candidates: [Int32])] = []
        let lineCount = Int(PyTuple_Size(linesTuple))
        for index in 0..<lineCount {
            guard let entry = PyTuple_GetItem(linesTuple, index), let line = Py.int(PyTuple_GetItem(entry, 0)),
                let stores = PyTuple_GetItem(entry, 1), let candidates = PyTuple_GetItem(entry, 2)
            else { continue }
            var storeIndices: [Int32] = []
            var candidateIndices: [Int32] = []
            for i in 0..<Int(PyTuple_Size(stores)) {
                if let value = Py.int(PyTuple_GetItem(stores, i)), value < nameCount { storeIndices.append(Int32(value)) }
            }
            for i in 0..<Int(PyTuple_Size(candidates)) {
                if let value = Py.int(PyTuple_GetItem(candidates, i)), value < nameCount {
                    candidateIndices.append(Int32(value))
                }
            }
            entries.append((line, storeIndices, candidateIndices))
        }
        var handlerLines = Set<Int32>()
        if PyTuple_Size(analysis) > 10, let handlers = PyTuple_GetItem(analysis, 10) {
            for i in 0..<Int(PyTuple_Size(handlers)) {
                if let line = Py.int(PyTuple_GetItem(handlers, i)) { handlerLines.insert(Int32(clamping: line)) }
            }
        }
        self.handlerLines = handlerLines
        PyErr_Clear()
        if let low = entries.map(\.line).min(), let high = entries.map(\.line).max(), high - low < 1_000_000 {
            let table = UnsafeMutableBufferPointer<(start: Int32, stores: Int32, candidates: Int32)>.allocate(
                capacity: high - low + 1)
            table.initialize(repeating: (0, -1, 0))
            let indices = UnsafeMutableBufferPointer<Int32>.allocate(
                capacity: max(1, entries.reduce(0) { $0 + $1.stores.count + $1.candidates.count }))
            var next = 0
            for entry in entries {
                table[entry.line - low] = (Int32(next), Int32(entry.stores.count), Int32(entry.candidates.count))
                for index in entry.stores + entry.candidates {
                    indices[next] = index
                    next += 1
                }
            }
            self.firstTableLine = low
            self.table = table
            self.checkIndices = indices
            self.checkCount = next
            self.hasGlobalStores = UnsafeMutableBufferPointer(rebasing: indices[0..<next]).contains {
                names[Int($0)].scope == .global
            }
        } else {
            self.firstTableLine = 0
            self.table = .allocate(capacity: 0)
            self.checkIndices = .allocate(capacity: 1)
            self.checkCount = 0
            self.hasGlobalStores = false
        }
    }

    /// The checks to run after `line` ran, if any.
    @inline(__always)
    func checks(after line: Int32) -> LineChecks? {
        let offset = Int(line) - firstTableLine
        guard offset >= 0, offset < table.count else { return nil }
        let entry = table[offset]
        guard entry.stores >= 0, let base = checkIndices.baseAddress else { return nil }
        let storesStart = UnsafePointer(base) + Int(entry.start)
        return LineChecks(
            stores: UnsafeBufferPointer(start: storesStart, count: Int(entry.stores)),
            candidates: UnsafeBufferPointer(start: storesStart + Int(entry.stores), count: Int(entry.candidates)))
    }

    /// Releases Python references and string storage (needs the GIL).
    func release() {
        for name in names {
            Py_DecRef(name.object)
            name.utf8.release()
        }
        if traced {
            file.release()
            function.release()
        }
        Py_DecRef(code)
    }

    deinit {
        table.deallocate()
        checkIndices.deallocate()
    }
}
