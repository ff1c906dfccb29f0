"""Find the local modules a script imports, so ``tracesnap record`` traces them too.

Breadth-first over ``import X``, ``from X import y``, relative imports and
``importlib.import_module("X")`` with a literal name, starting at the entry file. Absolute
names resolve under the entry file's directory (the directory Python puts first on
``sys.path``) as ``x/y.py`` or ``x/y/__init__.py``, and every package ``__init__.py`` on the way
counts too, because Python runs it. Relative imports resolve against the importing file's
package. Imports anywhere in a file count (inside functions, ``try`` blocks, ``if`` blocks):
whether they run is for Python to decide; tracing a file that never runs costs nothing.

A file that cannot be read or parsed is still listed (it must fail only where Python fails,
never abort the recording) but its imports are not followed.
"""

from __future__ import annotations

import ast
import io
import os
import tokenize
from collections import deque
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time in every traced process
    from typing import Iterable, Iterator, List, Optional, Tuple

__all__ = ["discover", "read_source", "MAX_FILES"]

#: Upper bound on the number of files found, the entry file included.
MAX_FILES = 200


def read_source(path: str) -> Optional[str]:
    """The text of a Python source file, decoded as Python does (PEP 263, BOM).

    Falls back to UTF-8 with replacement characters when the declared encoding is wrong or
    unknown; returns None when the file cannot be read at all.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return decode_source(data)


def decode_source(data: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except (SyntaxError, LookupError):
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def discover(entry: str, max_files: int = MAX_FILES) -> List[str]:
    """Absolute paths of the entry file and the local modules it (transitively) imports.

    The entry file comes first, the rest in breadth-first order. At most ``max_files``.
    """
    entry = os.path.abspath(entry)
    # Python puts the directory of the *real* script on sys.path, so siblings are found there.
    root = os.path.dirname(os.path.realpath(entry))
    found: List[str] = [entry]
    seen = {os.path.realpath(entry)}
    queue = deque([entry])
    while queue and len(found) < max_files:
        current = queue.popleft()
        for path in _imports_of(current, root):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            found.append(path)
            queue.append(path)
            if len(found) >= max_files:
                break
    return found


def _imports_of(path: str, root: str) -> Iterator[str]:
    tree = _parse(path)
    if tree is None:
        return
    package_dir = os.path.dirname(path)
    is_package = os.path.basename(path) == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _resolve_absolute(alias.name, root, submodules=())
        elif isinstance(node, ast.ImportFrom):
            names = tuple(a.name for a in node.names if a.name != "*")
            if node.level == 0:
                if node.module:
                    yield from _resolve_absolute(node.module, root, submodules=names)
            else:
                base = _relative_base(package_dir, node.level, is_package, root)
                if base is None:
                    continue
                if node.module:
                    yield from _resolve_in(base, node.module.split("."), names, root)
                else:
                    init = os.path.join(base, "__init__.py")
                    if os.path.isfile(init):
                        yield init
                    for name in names:
                        yield from _module_file(os.path.join(base, name))
        elif isinstance(node, ast.Call):
            name = _import_module_literal(node)
            if name:
                yield from _resolve_absolute(name, root, submodules=())


def _parse(path: str) -> Optional[ast.AST]:
    source = read_source(path)
    if source is None:
        return None
    try:
        return ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _import_module_literal(call: ast.Call) -> Optional[str]:
    """``importlib.import_module("a.b")`` / ``__import__("a")`` with a literal absolute name."""
    func = call.func
    name = None
    if isinstance(func, ast.Attribute) and func.attr == "import_module":
        name = "import_module"
    elif isinstance(func, ast.Name) and func.id in ("import_module", "__import__"):
        name = func.id
    if name is None or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        value = arg.value
        if value and not value.startswith(".") and all(p.isidentifier() for p in value.split(".")):
            return value
    return None


def _relative_base(package_dir: str, level: int, is_package: bool, root: str) -> Optional[str]:
    # level 1 is the importing module's own package: its directory (for __init__.py too)
    base = package_dir
    for _ in range(level - 1):
        base = os.path.dirname(base)
    if not _within(base, root):
        return None
    return base


def _within(path: str, root: str) -> bool:
    path = os.path.realpath(path)
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _resolve_absolute(dotted: str, root: str, submodules: Tuple[str, ...]) -> Iterator[str]:
    yield from _resolve_in(root, dotted.split("."), submodules, root)


def _resolve_in(base: str, parts: List[str], submodules: Iterable[str], root: str) -> Iterator[str]:
    """Files Python runs for ``import <base>/<parts...>`` (packages on the way included)."""
    current = base
    for i, part in enumerate(parts):
        if not part.isidentifier():
            return
        candidate = os.path.join(current, part)
        last = i == len(parts) - 1
        if os.path.isdir(candidate) and os.path.isfile(os.path.join(candidate, "__init__.py")):
            yield os.path.join(candidate, "__init__.py")
            current = candidate
            continue
        if last and os.path.isfile(candidate + ".py"):
            yield candidate + ".py"
            return
        if os.path.isdir(candidate) and not last:
            # a namespace package directory: nothing runs, but its children may be modules
            current = candidate
            continue
        if os.path.isdir(candidate) and last:
            current = candidate
            break
        return
    # the dotted name named a package: ``from pkg import mod`` may name submodules
    for name in submodules:
        if name.isidentifier():
            yield from _module_file(os.path.join(current, name))


def _module_file(stem: str) -> Iterator[str]:
    init = os.path.join(stem, "__init__.py")
    if os.path.isfile(init):
        yield init
    elif os.path.isfile(stem + ".py"):
        yield stem + ".py"
