"""Static facts about one code object, computed once and handed to the Swift recorder.

The recorder never snapshots all locals on every line. Instead, for each line of a traced code
object it reads only the names that line can change: the names it stores or deletes, and (for
lines that call, subscript-assign or attribute-assign) the names it loads, because those objects
may be mutated in place (``xs.append(y)``, ``d[k] = v``, ``obj.attr = v``, ``helper(xs)``).
Which names those are is a static property of the bytecode, so ``dis`` answers it here, once per
code object, for whatever CPython version is running.

The result is a plain tuple (see ``analyze``) so the Swift side can read it with the tuple API.
"""

from __future__ import annotations

import ast
import dis
import os
import sys
import tokenize

# Code flags (inspect.CO_*), spelled out to avoid importing inspect in the traced process.
CO_OPTIMIZED = 0x0001
CO_NEWLOCALS = 0x0002
CO_VARARGS = 0x0004
CO_VARKEYWORDS = 0x0008
CO_GENERATOR = 0x0020
CO_COROUTINE = 0x0080
CO_ITERABLE_COROUTINE = 0x0100
CO_ASYNC_GENERATOR = 0x0200

SCOPE_FAST = 0  # a function local, argument, cell or free variable
SCOPE_GLOBAL = 1  # a module global written from a function (``global x``)
SCOPE_NAME = 2  # a name in a module or class body namespace

_STORE_FAST = {"STORE_FAST", "STORE_DEREF", "DELETE_FAST", "DELETE_DEREF"}
_STORE_FAST_PAIRS = {"STORE_FAST_STORE_FAST", "STORE_FAST_LOAD_FAST"}
_STORE_NAME = {"STORE_NAME", "DELETE_NAME"}
_STORE_GLOBAL = {"STORE_GLOBAL", "DELETE_GLOBAL"}
_LOAD_FAST = {
    "LOAD_FAST",
    "LOAD_FAST_CHECK",
    "LOAD_FAST_AND_CLEAR",
    "LOAD_DEREF",
    "LOAD_CLASSDEREF",
    "LOAD_FROM_DICT_OR_DEREF",
    "LOAD_CLOSURE",
}
_LOAD_FAST_PAIRS = {"LOAD_FAST_LOAD_FAST"}
_LOAD_NAME = {"LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"}
# Opcodes that can change an object that is already bound to a name.
_MUTATORS = {
    "STORE_SUBSCR",
    "DELETE_SUBSCR",
    "STORE_ATTR",
    "DELETE_ATTR",
    "STORE_SLICE",
    "CALL",
    "CALL_FUNCTION",
    "CALL_FUNCTION_KW",
    "CALL_FUNCTION_EX",
    "CALL_METHOD",
    "CALL_KW",
    "PRECALL",
    "INPLACE_ADD",
    "INPLACE_OR",
    "INPLACE_AND",
    "INPLACE_SUBTRACT",
    "INPLACE_MULTIPLY",
    "LIST_APPEND",
    "SET_ADD",
    "MAP_ADD",
    "LIST_EXTEND",
    "SET_UPDATE",
    "DICT_UPDATE",
    "DICT_MERGE",
}
# In 3.11+ augmented assignment is BINARY_OP with an "inplace" argument (13..25).
_INPLACE_BINARY_OP_MIN = 13

_DUNDER_SKIP = {"__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__",
                "__builtins__", "__cached__", "__annotations__", "__module__", "__qualname__",
                "__classcell__", "__static_attributes__", "__firstlineno__", "__dict__"}


def _instructions(code):
    """Yields (line, instruction) for every instruction, with the line it belongs to."""
    if sys.version_info >= (3, 11):
        for ins in dis.get_instructions(code):
            pos = ins.positions
            yield (pos.lineno if pos is not None else None), ins
        return
    starts = dict(dis.findlinestarts(code))
    line = code.co_firstlineno
    for ins in dis.get_instructions(code):
        if ins.offset in starts:
            line = starts[ins.offset]
        yield line, ins


_BUILTIN_NAMES = frozenset(dir(__import__("builtins")))
_ATTRIBUTE_LOADS = {"LOAD_METHOD", "LOAD_ATTR"}


def _is_called_global(instructions, k):
    """Whether the LOAD_GLOBAL at ``instructions[k]`` only fetches a function to call it
    (``range(n)``, ``len(xs)``): calling a global does not change it, so it is not a mutation
    candidate. 3.11+ says so exactly (the low bit of the argument pushes the NULL of a call); before,
    a builtin's name that is not followed by an attribute load (``list.append``) counts as called."""
    ins = instructions[k][1]
    if sys.version_info >= (3, 11):
        return bool((ins.arg or 0) & 1)
    following = instructions[k + 1][1].opname if k + 1 < len(instructions) else ""
    return ins.argval in _BUILTIN_NAMES and following not in _ATTRIBUTE_LOADS


def _pair_names(ins, code):
    """The two names of a 3.13 superinstruction such as STORE_FAST_STORE_FAST."""
    value = ins.argval
    if isinstance(value, tuple) and len(value) == 2:
        return value
    arg = ins.arg or 0
    names = code.co_varnames
    first, second = arg >> 4, arg & 15
    out = []
    for idx in (first, second):
        if idx < len(names):
            out.append(names[idx])
    return tuple(out)


def _class_or_def_names(code):
    """Names bound by def/class/import statements in a module or class body."""
    result = set()
    pending = None
    for line, ins in _instructions(code):
        op = ins.opname
        if op in ("LOAD_BUILD_CLASS", "MAKE_FUNCTION", "IMPORT_NAME", "IMPORT_FROM"):
            pending = op
        elif op in _STORE_NAME or op in _STORE_GLOBAL:
            if pending is not None:
                result.add(ins.argval)
            pending = None if op != "IMPORT_FROM" else pending
        elif op in ("POP_TOP",) and pending in ("IMPORT_NAME", "IMPORT_FROM"):
            pending = None
    return result


def analyze_code(code, filename_is_traced):
    """Computes the line table of ``code``; None when the code object is not traced.

    Returns a tuple read by the Swift recorder (positions are part of the contract):
      0 filename (str)          1 function name (str)      2 co_flags (int)
      3 is_function (bool): True for optimized (function) frames, False for module/class bodies
      4 names (tuple of str): every name the table below refers to, by index
      5 scopes (tuple of int): SCOPE_* for each name
      6 arg_count (int): the first arg_count names are the arguments, in signature order
      7 lines (tuple of (line, stores: tuple[int], candidates: tuple[int]))
      8 first_line (int)
      9 kind (str): "function", "module", "class", "generator", "coroutine", "comprehension", "lambda"
     10 handler lines (tuple of int): lines of `except` clauses, `finally` bodies and `with`
        statements; while an exception is pending, lines there do not mean it was handled
    """
    filename = code.co_filename
    if not filename_is_traced(filename):
        return None
    flags = code.co_flags
    is_function = bool(flags & CO_OPTIMIZED)
    name = code.co_name
    if name == "<module>":
        kind = "module"
    elif not is_function:
        kind = "class"
    elif flags & (CO_COROUTINE | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE):
        kind = "coroutine"
    elif flags & CO_GENERATOR:
        kind = "generator"
    elif name in ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"):
        kind = "comprehension"
    elif name == "<lambda>":
        kind = "lambda"
    else:
        kind = "function"

    names = []
    scopes = []
    index = {}

    def slot(var, scope):
        key = (var, scope)
        found = index.get(key)
        if found is None:
            found = len(names)
            index[key] = found
            names.append(var)
            scopes.append(scope)
        return found

    # Arguments first, in signature order.
    arg_count = 0
    if is_function:
        count = code.co_argcount + code.co_kwonlyargcount
        if flags & CO_VARARGS:
            count += 1
        if flags & CO_VARKEYWORDS:
            count += 1
        for var in code.co_varnames[:count]:
            slot(var, SCOPE_FAST)
        arg_count = count

    skip_names = set(_DUNDER_SKIP)
    if not is_function:
        skip_names |= _class_or_def_names(code)

    stores_by_line = {}
    loads_by_line = {}
    mutating_lines = set()
    instructions = list(_instructions(code))
    for k, (line, ins) in enumerate(instructions):
        if line is None:
            continue
        op = ins.opname
        if op in _STORE_FAST:
            if is_function:
                stores_by_line.setdefault(line, []).append(slot(ins.argval, SCOPE_FAST))
        elif op in _STORE_FAST_PAIRS:
            pair = _pair_names(ins, code)
            if pair:
                stores_by_line.setdefault(line, []).append(slot(pair[0], SCOPE_FAST))
                if op == "STORE_FAST_STORE_FAST" and len(pair) > 1:
                    stores_by_line.setdefault(line, []).append(slot(pair[1], SCOPE_FAST))
                elif len(pair) > 1:
                    loads_by_line.setdefault(line, []).append(slot(pair[1], SCOPE_FAST))
        elif op in _STORE_NAME:
            if ins.argval not in skip_names and not ins.argval.startswith("__"):
                stores_by_line.setdefault(line, []).append(slot(ins.argval, SCOPE_NAME))
        elif op in _STORE_GLOBAL:
            if ins.argval not in skip_names and not ins.argval.startswith("__"):
                scope = SCOPE_GLOBAL if is_function else SCOPE_NAME
                stores_by_line.setdefault(line, []).append(slot(ins.argval, scope))
        elif op in _LOAD_FAST:
            if is_function and isinstance(ins.argval, str):
                loads_by_line.setdefault(line, []).append(slot(ins.argval, SCOPE_FAST))
        elif op in _LOAD_FAST_PAIRS:
            for var in _pair_names(ins, code):
                loads_by_line.setdefault(line, []).append(slot(var, SCOPE_FAST))
        elif op in _LOAD_NAME:
            if not is_function and ins.argval not in skip_names and not ins.argval.startswith("__"):
                loads_by_line.setdefault(line, []).append(slot(ins.argval, SCOPE_NAME))
        elif op == "LOAD_GLOBAL":
            var = ins.argval
            if (isinstance(var, str) and var not in skip_names and not var.startswith("__")
                    and not _is_called_global(instructions, k)):
                # a module-level container mutated from a function (log.append(x)) is recorded
                # in the function that changed it
                loads_by_line.setdefault(line, []).append(slot(var, SCOPE_GLOBAL if is_function else SCOPE_NAME))
        # Reading an attribute changes nothing; a call (method or function), a subscript or
        # attribute store, or an augmented assignment may.
        if op in _MUTATORS:
            mutating_lines.add(line)
        elif op == "BINARY_OP" and (ins.arg or 0) >= _INPLACE_BINARY_OP_MIN:
            mutating_lines.add(line)

    lines = []
    for line in sorted(set(stores_by_line) | set(loads_by_line)):
        stores = tuple(dict.fromkeys(stores_by_line.get(line, ())))
        if line in mutating_lines:
            candidates = tuple(i for i in dict.fromkeys(loads_by_line.get(line, ())) if i not in stores)
        else:
            candidates = ()
        if stores or candidates:
            lines.append((line, stores, candidates))

    return (
        filename,
        name,
        flags,
        is_function,
        tuple(names),
        tuple(scopes),
        arg_count,
        tuple(lines),
        code.co_firstlineno,
        kind,
        _handler_lines(filename),
    )


_HANDLER_LINES = {}


def _handler_lines(filename):
    """Lines of a file where a pending exception is still being dealt with (cached per file)."""
    found = _HANDLER_LINES.get(filename)
    if found is not None:
        return found
    lines = set()
    try:
        with tokenize.open(filename) as handle:
            tree = ast.parse(handle.read(), filename)
    except Exception:
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            try_types = (ast.Try,) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())
            if isinstance(node, try_types):
                for handler in node.handlers:
                    lines.update(range(handler.lineno, (handler.end_lineno or handler.lineno) + 1))
                if node.finalbody:
                    first = node.finalbody[0].lineno
                    last = node.finalbody[-1].end_lineno or first
                    # the `finally:` keyword line sits just above the first statement
                    lines.update(range(max(first - 1, node.lineno), last + 1))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                body_start = node.body[0].lineno if node.body else node.lineno + 1
                lines.update(range(node.lineno, max(body_start, node.lineno + 1)))
    found = tuple(sorted(lines))
    _HANDLER_LINES[filename] = found
    return found


class FileFilter:
    """Decides whether a code object's file is traced: exact (resolved) paths of the source files."""

    def __init__(self, source_files):
        self._exact = set()
        for path in source_files:
            self._exact.add(path)
            self._exact.add(os.path.abspath(path))
            try:
                self._exact.add(os.path.realpath(path))
            except OSError:
                pass
        self._cache = {}

    def __call__(self, filename):
        found = self._cache.get(filename)
        if found is None:
            found = filename in self._exact
            if not found and filename and not filename.startswith("<"):
                try:
                    found = os.path.realpath(filename) in self._exact
                except (OSError, ValueError):
                    found = False
            self._cache[filename] = found
        return found


class FunctionFilter:
    """``--function`` / ``--exclude-function``: glob patterns matched against a code object's
    name and (3.11+) qualified name. Module and class bodies count as functions named
    ``<module>`` and the class name."""

    def __init__(self, include=(), exclude=()):
        self.include = [p for p in include if p]
        self.exclude = [p for p in exclude if p]

    def __bool__(self):
        return bool(self.include or self.exclude)

    def _matches(self, code, patterns):
        from fnmatch import fnmatchcase

        names = {code.co_name, getattr(code, "co_qualname", code.co_name)}
        return any(fnmatchcase(name, pattern) for name in names for pattern in patterns)

    def allows(self, code):
        if self.include and not self._matches(code, self.include):
            return False
        return not (self.exclude and self._matches(code, self.exclude))


def make_analyzer(source_files, functions=(), exclude_functions=()):
    """Returns the callable the recorder calls once per new code object. A code object the
    analyzer returns None for is not recorded (and, with sys.monitoring, never reported again)."""
    traced = FileFilter(source_files)
    chosen = FunctionFilter(functions, exclude_functions)

    def analyze(code):
        try:
            if chosen and not chosen.allows(code):
                return None
            return analyze_code(code, traced)
        except Exception:  # never let analysis break the traced program
            return None

    return analyze
