"""Static structure of a Python source file: functions, classes, branches, loops, statements.

``build_structure(path, source)`` parses one file with :mod:`ast` and returns a flat list of
nodes in source order. The players draw them (the simulator's flowchart) and the Swift
branch/loop annotator uses the line ranges to turn ``line`` events into ``branch`` and
``loop`` events. The node shape is the trace format's (``docs/trace-format.md``):

    {"id", "kind", "subkind", "lineno", "end_lineno", "parent"}
    + "name", "params", "param_kinds"            on function nodes (kind "function")
    + "name"                                     on class nodes (kind "class")
    + "arms": [{"label", "first", "last", "test"}]   on branch nodes (kind "branch")
    + "header", "body": [first, last], "orelse": [first, last] | None   on loop nodes

Ids are dotted paths, compatible with trace format 0.1:

* functions and classes are named by their lexical scope: ``f``, ``f.g``, ``Cls.method``;
* branches and loops by their container plus kind and line: ``f.if12``, ``f.for9``,
  ``f.while31``, ``f.try40``, ``f.match50``, ``f.comp12`` (a comprehension);
* statements by container plus line: ``f.s8``;
* at module level, branch/loop ids start with a dot (``.for15``, ``.for15.if18``) while
  statement, function and class ids do not (``s1``, ``main``, ``Cls``).

An ``elif`` is its own branch node (subkind ``elif``) with the same parent as the ``if`` it
continues; the ``if``'s ``else`` arm covers it and names it in ``"elif"``. ``with`` bodies are
flattened into their container (as 0.1 did). Lambdas are ignored. Ids are unique within a
file: a second node that would get an existing id (two statements on one line, two
comprehensions on one line, two functions of the same name in one scope) gets ``_2``, ``_3``.

A file that does not parse (syntax error, null bytes, too deeply nested) gives ``[]``: the
recording goes on and the program fails only where Python itself fails.
"""

from __future__ import annotations

import ast
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time in every traced process
    from typing import Any, Dict, List, Optional, Sequence, Union

    Node = Dict[str, Any]

__all__ = ["build_structure"]


_COMPREHENSIONS = {
    ast.ListComp: "list",
    ast.SetComp: "set",
    ast.DictComp: "dict",
    ast.GeneratorExp: "generator",
}

_MATCH = getattr(ast, "Match", None)
_TRY_STAR = getattr(ast, "TryStar", None)


def build_structure(path: str, source: Union[str, bytes]) -> List[Node]:
    """Return the structure nodes of ``source`` (the text of the file at ``path``).

    Never raises for bad input: a file Python cannot parse gives an empty list.
    """
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return []
    if isinstance(source, bytes):
        try:
            from io import BytesIO
            import tokenize

            encoding, _ = tokenize.detect_encoding(BytesIO(source).readline)
            text = source.decode(encoding, "replace")
        except (SyntaxError, LookupError):
            text = source.decode("utf-8", "replace")
    else:
        text = source
    builder = _Builder(text.splitlines())
    try:
        builder.block(tree.body, prefix="", parent=None, scope="")
    except RecursionError:
        return []
    return builder.nodes


def _first_line(stmt: ast.stmt) -> int:
    """The first line a statement occupies, decorators included."""
    decorators = getattr(stmt, "decorator_list", None) or ()
    return min([stmt.lineno] + [d.lineno for d in decorators])


def _span(body: Sequence[ast.stmt]) -> Optional[List[int]]:
    if not body:
        return None
    return [_first_line(body[0]), body[-1].end_lineno or body[-1].lineno]


def _arm(label: str, body: Sequence[ast.stmt], test: Optional[int]) -> Dict[str, Any]:
    span = _span(body) or [None, None]
    return {"label": label, "first": span[0], "last": span[1], "test": test}


def _params(args: ast.arguments) -> "tuple[list[str], list[str]]":
    names: List[str] = []
    kinds: List[str] = []
    for a in getattr(args, "posonlyargs", ()):
        names.append(a.arg)
        kinds.append("posonly")
    for a in args.args:
        names.append(a.arg)
        kinds.append("arg")
    if args.vararg is not None:
        names.append(args.vararg.arg)
        kinds.append("vararg")
    for a in args.kwonlyargs:
        names.append(a.arg)
        kinds.append("kwonly")
    if args.kwarg is not None:
        names.append(args.kwarg.arg)
        kinds.append("kwarg")
    return names, kinds


class _Builder:
    def __init__(self, lines: List[str]) -> None:
        self.lines = lines
        self.nodes: List[Node] = []
        self.used: Dict[str, int] = {}

    # -- helpers ---------------------------------------------------------------------------

    def unique(self, node_id: str) -> str:
        n = self.used.get(node_id, 0) + 1
        self.used[node_id] = n
        if n == 1:
            return node_id
        candidate = f"{node_id}_{n}"
        while candidate in self.used:
            n += 1
            candidate = f"{node_id}_{n}"
        self.used[node_id] = n
        self.used[candidate] = 1
        return candidate

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    @staticmethod
    def child_id(prefix: str, local: str) -> str:
        """Id of a branch/loop (``local`` like ``if12``) inside ``prefix``."""
        return f"{prefix}.{local}"

    @staticmethod
    def stmt_id(prefix: str, lineno: int) -> str:
        return f"{prefix}.s{lineno}" if prefix else f"s{lineno}"

    @staticmethod
    def scoped(scope: str, name: str) -> str:
        return f"{scope}.{name}" if scope else name

    def is_elif(self, parent_if: ast.If) -> bool:
        orelse = parent_if.orelse
        if len(orelse) != 1 or not isinstance(orelse[0], ast.If):
            return False
        inner = orelse[0]
        idx = inner.lineno - 1
        if 0 <= idx < len(self.lines):
            return self.lines[idx][inner.col_offset:].lstrip().startswith("elif")
        return inner.col_offset == parent_if.col_offset

    # -- statements ------------------------------------------------------------------------

    def block(self, body: Sequence[ast.stmt], prefix: str, parent: Optional[str], scope: str) -> None:
        for stmt in body:
            self.statement(stmt, prefix, parent, scope)

    def statement(self, stmt: ast.stmt, prefix: str, parent: Optional[str], scope: str) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(stmt, prefix, parent, scope)
        elif isinstance(stmt, ast.ClassDef):
            self.klass(stmt, prefix, parent, scope)
        elif isinstance(stmt, ast.If):
            self.if_chain(stmt, prefix, parent, scope, subkind="if")
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            self.loop(stmt, prefix, parent, scope)
        elif isinstance(stmt, ast.Try) or (_TRY_STAR is not None and isinstance(stmt, _TRY_STAR)):
            self.try_(stmt, prefix, parent, scope)
        elif _MATCH is not None and isinstance(stmt, _MATCH):
            self.match(stmt, prefix, parent, scope)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            self.add(self.plain(stmt, prefix, parent))
            for item in stmt.items:
                self.scan(item, prefix, parent, scope)
            self.block(stmt.body, prefix, parent, scope)
        else:
            self.add(self.plain(stmt, prefix, parent))
            self.scan(stmt, prefix, parent, scope)

    def plain(self, stmt: ast.stmt, prefix: str, parent: Optional[str]) -> Node:
        return {
            "id": self.unique(self.stmt_id(prefix, stmt.lineno)),
            "kind": "statement",
            "subkind": type(stmt).__name__,
            "lineno": stmt.lineno,
            "end_lineno": stmt.end_lineno,
            "parent": parent,
        }

    def function(self, fn: Union[ast.FunctionDef, ast.AsyncFunctionDef], prefix: str,
                 parent: Optional[str], scope: str) -> None:
        for expr in fn.decorator_list:
            self.scan(expr, prefix, parent, scope)
        for expr in list(fn.args.defaults) + [d for d in fn.args.kw_defaults if d is not None]:
            self.scan(expr, prefix, parent, scope)
        node_id = self.unique(self.scoped(scope, fn.name))
        names, kinds = _params(fn.args)
        node: Node = {
            "id": node_id,
            "kind": "function",
            "subkind": "async def" if isinstance(fn, ast.AsyncFunctionDef) else "def",
            "name": fn.name,
            "lineno": fn.lineno,
            "end_lineno": fn.end_lineno,
            "parent": parent,
            "params": names,
            "param_kinds": kinds,
        }
        if fn.decorator_list:
            node["first_lineno"] = _first_line(fn)
        self.add(node)
        self.block(fn.body, node_id, node_id, node_id)

    def klass(self, cls: ast.ClassDef, prefix: str, parent: Optional[str], scope: str) -> None:
        for expr in list(cls.decorator_list) + list(cls.bases) + [k.value for k in cls.keywords]:
            self.scan(expr, prefix, parent, scope)
        node_id = self.unique(self.scoped(scope, cls.name))
        node: Node = {
            "id": node_id,
            "kind": "class",
            "subkind": "class",
            "name": cls.name,
            "lineno": cls.lineno,
            "end_lineno": cls.end_lineno,
            "parent": parent,
        }
        if cls.decorator_list:
            node["first_lineno"] = _first_line(cls)
        self.add(node)
        self.block(cls.body, node_id, node_id, node_id)

    def if_chain(self, stmt: ast.If, prefix: str, parent: Optional[str], scope: str,
                 subkind: str) -> None:
        self.scan(stmt.test, prefix, parent, scope)
        node_id = self.unique(self.child_id(prefix, f"if{stmt.lineno}"))
        arms = [_arm(subkind, stmt.body, stmt.lineno)]
        elif_stmt: Optional[ast.If] = stmt.orelse[0] if self.is_elif(stmt) else None  # type: ignore[assignment]
        node: Node = {
            "id": node_id,
            "kind": "branch",
            "subkind": subkind,
            "lineno": stmt.lineno,
            "end_lineno": stmt.end_lineno,
            "parent": parent,
            "arms": arms,
        }
        self.add(node)
        self.block(stmt.body, node_id, node_id, scope)
        if elif_stmt is not None:
            else_arm = _arm("else", stmt.orelse, None)
            arms.append(else_arm)
            before = len(self.nodes)
            self.if_chain(elif_stmt, prefix, parent, scope, subkind="elif")
            # the elif node is the first branch node added by the recursive call
            for added in self.nodes[before:]:
                if added["kind"] == "branch" and added["subkind"] == "elif":
                    else_arm["elif"] = added["id"]
                    break
        elif stmt.orelse:
            arms.append(_arm("else", stmt.orelse, None))
            self.block(stmt.orelse, node_id, node_id, scope)

    def loop(self, stmt: Union[ast.For, ast.AsyncFor, ast.While], prefix: str,
             parent: Optional[str], scope: str) -> None:
        if isinstance(stmt, ast.While):
            local, subkind = f"while{stmt.lineno}", "while"
        else:
            local = f"for{stmt.lineno}"
            subkind = "async for" if isinstance(stmt, ast.AsyncFor) else "for"
            self.scan(stmt.iter, prefix, parent, scope)
        node_id = self.unique(self.child_id(prefix, local))
        self.add({
            "id": node_id,
            "kind": "loop",
            "subkind": subkind,
            "lineno": stmt.lineno,
            "end_lineno": stmt.end_lineno,
            "parent": parent,
            "header": stmt.lineno,
            "body": _span(stmt.body),
            "orelse": _span(stmt.orelse),
        })
        if isinstance(stmt, ast.While):
            self.scan(stmt.test, node_id, node_id, scope)
        else:
            self.scan(stmt.target, node_id, node_id, scope)
        self.block(stmt.body, node_id, node_id, scope)
        self.block(stmt.orelse, node_id, node_id, scope)

    def try_(self, stmt: Any, prefix: str, parent: Optional[str], scope: str) -> None:
        node_id = self.unique(self.child_id(prefix, f"try{stmt.lineno}"))
        arms = [_arm("try", stmt.body, None)]
        for handler in stmt.handlers:
            arms.append(_arm("except", handler.body, handler.lineno))
        if stmt.orelse:
            arms.append(_arm("else", stmt.orelse, None))
        if stmt.finalbody:
            arms.append(_arm("finally", stmt.finalbody, None))
        node: Node = {
            "id": node_id,
            "kind": "branch",
            "subkind": "try",
            "lineno": stmt.lineno,
            "end_lineno": stmt.end_lineno,
            "parent": parent,
            "arms": arms,
        }
        if _TRY_STAR is not None and isinstance(stmt, _TRY_STAR):
            node["star"] = True
        self.add(node)
        self.block(stmt.body, node_id, node_id, scope)
        for handler in stmt.handlers:
            if handler.type is not None:
                self.scan(handler.type, node_id, node_id, scope)
            self.block(handler.body, node_id, node_id, scope)
        self.block(stmt.orelse, node_id, node_id, scope)
        self.block(stmt.finalbody, node_id, node_id, scope)

    def match(self, stmt: Any, prefix: str, parent: Optional[str], scope: str) -> None:
        self.scan(stmt.subject, prefix, parent, scope)
        node_id = self.unique(self.child_id(prefix, f"match{stmt.lineno}"))
        arms = [_arm("case", case.body, case.pattern.lineno) for case in stmt.cases]
        self.add({
            "id": node_id,
            "kind": "branch",
            "subkind": "match",
            "lineno": stmt.lineno,
            "end_lineno": stmt.end_lineno,
            "parent": parent,
            "arms": arms,
        })
        for case in stmt.cases:
            if case.guard is not None:
                self.scan(case.guard, node_id, node_id, scope)
            self.block(case.body, node_id, node_id, scope)

    # -- comprehensions --------------------------------------------------------------------

    def scan(self, root: ast.AST, prefix: str, parent: Optional[str], scope: str) -> None:
        """Add a loop node for every comprehension in ``root`` (not inside lambdas)."""
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Lambda):
                continue
            kind = _COMPREHENSIONS.get(type(node))
            if kind is not None:
                self.comprehension(node, kind, prefix, parent, scope)
                continue
            children = list(ast.iter_child_nodes(node))
            stack.extend(reversed(children))

    def comprehension(self, comp: Any, kind: str, prefix: str, parent: Optional[str],
                      scope: str) -> None:
        node_id = self.unique(self.child_id(prefix, f"comp{comp.lineno}"))
        if isinstance(comp, ast.DictComp):
            first, last = comp.key.lineno, comp.value.end_lineno
        else:
            first, last = comp.elt.lineno, comp.elt.end_lineno
        self.add({
            "id": node_id,
            "kind": "loop",
            "subkind": "comprehension",
            "comprehension": kind,
            "lineno": comp.lineno,
            "end_lineno": comp.end_lineno,
            "parent": parent,
            "header": comp.lineno,
            "body": [first, last],
            "orelse": None,
        })
        # the first iterable is evaluated outside the comprehension, but it belongs to it
        # visually; everything else runs inside it
        for gen in comp.generators:
            self.scan(gen.iter, node_id, node_id, scope)
            for cond in gen.ifs:
                self.scan(cond, node_id, node_id, scope)
        if isinstance(comp, ast.DictComp):
            self.scan(comp.key, node_id, node_id, scope)
            self.scan(comp.value, node_id, node_id, scope)
        else:
            self.scan(comp.elt, node_id, node_id, scope)
