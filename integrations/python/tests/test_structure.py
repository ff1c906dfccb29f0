"""tracesnap._structure.build_structure: node shapes, ids, arms and loop ranges."""

import sys
import textwrap

import pytest

from tracesnap._structure import build_structure


def build(src):
    return build_structure("/x/mod.py", textwrap.dedent(src).lstrip("\n"))


def by_id(src):
    nodes = build(src)
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)), f"duplicate ids: {ids}"
    return {n["id"]: n for n in nodes}


def test_reference_shape_function_statement_branch_loop():
    n = by_id('''
        """doc"""
        import os


        def checkout(items, coupon):
            subtotal = 0
            for item in items:
                subtotal += item
            if coupon:
                subtotal = subtotal - 1
            return subtotal
    ''')
    assert n["s1"] == {"id": "s1", "kind": "statement", "subkind": "Expr", "lineno": 1,
                       "end_lineno": 1, "parent": None}
    assert n["s2"]["subkind"] == "Import"
    f = n["checkout"]
    assert (f["kind"], f["name"], f["lineno"], f["end_lineno"], f["parent"], f["params"]) == \
        ("function", "checkout", 5, 11, None, ["items", "coupon"])
    assert n["checkout.s6"]["parent"] == "checkout"
    loop = n["checkout.for7"]
    assert (loop["kind"], loop["subkind"], loop["lineno"], loop["end_lineno"]) == ("loop", "for", 7, 8)
    assert loop["header"] == 7 and loop["body"] == [8, 8] and loop["orelse"] is None
    assert n["checkout.for7.s8"]["parent"] == "checkout.for7"
    br = n["checkout.if9"]
    assert (br["kind"], br["subkind"], br["parent"]) == ("branch", "if", "checkout")
    assert br["arms"] == [{"label": "if", "first": 10, "last": 10, "test": 9}]
    assert n["checkout.s11"]["subkind"] == "Return"


def test_node_order_is_source_order():
    nodes = build('''
        def f():
            a = 1
            if a:
                b = 2
            c = 3
    ''')
    assert [n["id"] for n in nodes] == ["f", "f.s2", "f.if3", "f.if3.s4", "f.s5"]


def test_module_level_ids_start_with_a_dot_for_branches_and_loops():
    n = by_id('''
        total = 0
        for i in range(3):
            if i:
                total += i
        while total:
            total -= 1
    ''')
    assert "s1" in n
    assert n[".for2"]["parent"] is None
    assert n[".for2.if3"]["parent"] == ".for2"
    assert n[".for2.if3.s4"]["parent"] == ".for2.if3"
    assert n[".while5"]["subkind"] == "while"
    assert n[".while5.s6"]["parent"] == ".while5"


def test_if_elif_else_chain():
    n = by_id('''
        def f(x):
            if x > 10:
                r = "big"
            elif x > 5:
                r = "mid"
            elif x > 0:
                r = "small"
            else:
                r = "neg"
            return r
    ''')
    top = n["f.if2"]
    assert top["subkind"] == "if" and top["parent"] == "f"
    assert top["arms"][0] == {"label": "if", "first": 3, "last": 3, "test": 2}
    assert top["arms"][1]["label"] == "else"
    assert (top["arms"][1]["first"], top["arms"][1]["last"]) == (4, 9)
    assert top["arms"][1]["elif"] == "f.if4"
    e1 = n["f.if4"]
    assert e1["subkind"] == "elif" and e1["parent"] == "f"   # as trace format 0.1
    assert e1["arms"][0] == {"label": "elif", "first": 5, "last": 5, "test": 4}
    assert e1["arms"][1]["elif"] == "f.if6"
    e2 = n["f.if6"]
    assert e2["arms"] == [{"label": "elif", "first": 7, "last": 7, "test": 6},
                          {"label": "else", "first": 9, "last": 9, "test": None}]
    assert n["f.if6.s9"]["parent"] == "f.if6"
    assert n["f.if2.s3"]["parent"] == "f.if2"


def test_else_containing_a_nested_if_is_not_an_elif():
    n = by_id('''
        def f(x):
            if x:
                a = 1
            else:
                if x is None:
                    a = 2
                a = 3
    ''')
    outer = n["f.if2"]
    assert [a["label"] for a in outer["arms"]] == ["if", "else"]
    assert "elif" not in outer["arms"][1]
    assert outer["arms"][1]["first"] == 5 and outer["arms"][1]["last"] == 7
    inner = n["f.if2.if5"]
    assert inner["subkind"] == "if" and inner["parent"] == "f.if2"
    assert [a["label"] for a in inner["arms"]] == ["if"]


def test_one_line_bodies():
    n = by_id('''
        def f(x):
            if x: return 1
            for i in x: print(i)
            while x: x = x - 1
            return 0
    ''')
    assert n["f.if2"]["arms"] == [{"label": "if", "first": 2, "last": 2, "test": 2}]
    assert n["f.if2.s2"]["subkind"] == "Return"
    assert n["f.for3"]["body"] == [3, 3]
    assert n["f.while4"]["body"] == [4, 4]


def test_nested_loops_and_loop_else():
    n = by_id('''
        def grid(rows):
            for r in rows:
                for c in r:
                    if c:
                        break
                else:
                    continue
                k = 0
                while k < 3:
                    k += 1
                else:
                    k = -1
    ''')
    outer, inner = n["grid.for2"], n["grid.for2.for3"]
    assert inner["parent"] == "grid.for2"
    assert inner["body"] == [4, 5] and inner["orelse"] == [7, 7]
    assert n["grid.for2.for3.s7"]["parent"] == "grid.for2.for3"
    w = n["grid.for2.while9"]
    assert w["header"] == 9 and w["body"] == [10, 10] and w["orelse"] == [12, 12]
    assert outer["body"] == [3, 12] and outer["orelse"] is None


def test_methods_are_parented_under_their_class():
    n = by_id('''
        class Account:
            rate = 2

            def __init__(self, owner, balance=0):
                self.owner = owner

            @property
            def total(self):
                return self.rate

            class Meta:
                def info(cls):
                    return 1
    ''')
    cls = n["Account"]
    assert (cls["kind"], cls["name"], cls["lineno"], cls["end_lineno"], cls["parent"]) == \
        ("class", "Account", 1, 13, None)
    assert n["Account.s2"]["parent"] == "Account"
    init = n["Account.__init__"]
    assert init["parent"] == "Account" and init["params"] == ["self", "owner", "balance"]
    assert n["Account.__init__.s5"]["parent"] == "Account.__init__"
    total = n["Account.total"]
    assert total["lineno"] == 8 and total["first_lineno"] == 7
    assert n["Account.Meta"]["kind"] == "class" and n["Account.Meta"]["parent"] == "Account"
    assert n["Account.Meta.info"]["parent"] == "Account.Meta"


def test_params_include_every_kind():
    n = by_id('''
        def f(a, b=1, *args, c, d=2, **kwargs):
            pass

        async def g(x, /, y, *, z):
            pass
    ''')
    assert n["f"]["params"] == ["a", "b", "args", "c", "d", "kwargs"]
    assert n["f"]["param_kinds"] == ["arg", "arg", "vararg", "kwonly", "kwonly", "kwarg"]
    assert n["g"]["params"] == ["x", "y", "z"]
    assert n["g"]["param_kinds"] == ["posonly", "arg", "kwonly"]
    assert n["g"]["subkind"] == "async def" and n["f"]["subkind"] == "def"


def test_nested_functions():
    n = by_id('''
        def outer():
            def inner(v):
                return v
            return inner(1)
    ''')
    assert n["outer.inner"]["parent"] == "outer"
    assert n["outer.inner.s3"]["parent"] == "outer.inner"


def test_try_except_else_finally_is_a_branch_with_handlers_recursed():
    n = by_id('''
        def f():
            try:
                x = 1
                y = 2
            except (KeyError, ValueError) as e:
                x = 0
                if e:
                    y = 0
            except Exception:
                raise
            else:
                z = 3
            finally:
                done = True
    ''')
    t = n["f.try2"]
    assert (t["kind"], t["subkind"], t["lineno"], t["end_lineno"], t["parent"]) == \
        ("branch", "try", 2, 14, "f")
    assert t["arms"] == [
        {"label": "try", "first": 3, "last": 4, "test": None},
        {"label": "except", "first": 6, "last": 8, "test": 5},
        {"label": "except", "first": 10, "last": 10, "test": 9},
        {"label": "else", "first": 12, "last": 12, "test": None},
        {"label": "finally", "first": 14, "last": 14, "test": None},
    ]
    for sid in ("f.try2.s3", "f.try2.s4", "f.try2.s6", "f.try2.s10", "f.try2.s12", "f.try2.s14"):
        assert n[sid]["parent"] == "f.try2"
    assert n["f.try2.if7"]["parent"] == "f.try2"
    assert n["f.try2.if7.s8"]["parent"] == "f.try2.if7"


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match needs Python 3.10")
def test_match_is_a_branch_with_case_arms():
    n = by_id('''
        def f(cmd):
            match cmd:
                case ["go", where]:
                    r = where
                case {"stop": _} if cmd:
                    r = "stop"
                case _:
                    r = None
            return r
    ''')
    m = n["f.match2"]
    assert (m["kind"], m["subkind"]) == ("branch", "match")
    assert m["arms"] == [
        {"label": "case", "first": 4, "last": 4, "test": 3},
        {"label": "case", "first": 6, "last": 6, "test": 5},
        {"label": "case", "first": 8, "last": 8, "test": 7},
    ]
    assert n["f.match2.s4"]["parent"] == "f.match2"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* needs Python 3.11")
def test_try_star():
    n = by_id('''
        try:
            pass
        except* ValueError:
            x = 1
    ''')
    t = n[".try1"]
    assert t["subkind"] == "try" and t.get("star") is True
    assert [a["label"] for a in t["arms"]] == ["try", "except"]
    assert n[".try1.s4"]["parent"] == ".try1"


def test_async_for_and_async_with_are_recursed():
    n = by_id('''
        async def main(source, lock):
            async with lock:
                async for item in source:
                    if item:
                        print(item)
            with open("f") as fh:
                data = fh.read()
    ''')
    assert n["main.s2"]["subkind"] == "AsyncWith"
    loop = n["main.for3"]
    assert (loop["kind"], loop["subkind"], loop["parent"]) == ("loop", "async for", "main")
    assert n["main.for3.if4"]["parent"] == "main.for3"
    assert n["main.s6"]["subkind"] == "With"
    assert n["main.s7"]["parent"] == "main"   # with bodies are flattened, as in 0.1


def test_comprehensions_are_loops():
    n = by_id('''
        def f(rows):
            squares = [x * x for x in rows if x]
            table = {k: [v for v in k] for k in rows}
            total = sum(x for x in rows)
            return squares, table, total
    ''')
    c = n["f.comp2"]
    assert (c["kind"], c["subkind"], c["comprehension"], c["parent"]) == \
        ("loop", "comprehension", "list", "f")
    assert c["header"] == 2 and c["body"] == [2, 2] and c["orelse"] is None
    assert n["f.s2"]["kind"] == "statement"
    assert n["f.comp3"]["comprehension"] == "dict"
    inner = n["f.comp3.comp3"]
    assert inner["parent"] == "f.comp3" and inner["comprehension"] == "list"
    assert n["f.comp4"]["comprehension"] == "generator"


def test_two_comprehensions_on_one_line_get_distinct_ids():
    n = by_id('''
        a = [x for x in "ab"] + [y for y in "cd"]; b = {z for z in "e"}
    ''')
    assert {".comp1", ".comp1_2", ".comp1_3"} <= set(n)
    assert {"s1", "s1_2"} <= set(n)


def test_multiline_comprehension_body_range():
    n = by_id('''
        def f(rows):
            return [
                (r,
                 r * 2)
                for r in rows
            ]
    ''')
    c = n["f.comp2"]
    assert c["lineno"] == 2 and c["end_lineno"] == 6 and c["body"] == [3, 4]


def test_lambdas_are_ignored():
    n = by_id('''
        key = lambda xs: [x for x in xs]
        def f():
            return sorted([], key=lambda v: v)
    ''')
    assert not any(node["kind"] == "loop" for node in n.values())
    assert set(n) == {"s1", "f", "f.s3"}


def test_decorators_and_decorated_functions():
    n = by_id('''
        import functools

        @functools.lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
    ''')
    assert n["fib"]["lineno"] == 4 and n["fib"]["first_lineno"] == 3
    assert n["fib"]["params"] == ["n"]


def test_arm_first_line_of_a_decorated_function_is_its_decorator():
    n = by_id('''
        if True:
            @staticmethod
            def g():
                pass
    ''')
    assert n[".if1"]["arms"][0]["first"] == 2
    assert n["g"]["parent"] == ".if1"


def test_duplicate_function_names_get_distinct_ids():
    n = by_id('''
        import sys
        if sys.platform == "win32":
            def path():
                return 1
        else:
            def path():
                return 2
    ''')
    assert n["path"]["lineno"] == 3 and n["path_2"]["lineno"] == 6
    assert n["path_2.s7"]["parent"] == "path_2"


def test_while_true_with_break_and_statements_in_class_bodies():
    n = by_id('''
        class C:
            for i in range(2):
                x = i
    ''')
    assert n["C.for2"]["parent"] == "C"
    assert n["C.for2.s3"]["parent"] == "C.for2"


@pytest.mark.parametrize("source", [
    "def (:\n",
    "x = 1\n  y = 2\n",
    "print('a')\x00\n",
    "match = [\n",
])
def test_unparsable_source_gives_an_empty_list(source):
    assert build_structure("/x/bad.py", source) == []


def test_deeply_nested_source_does_not_raise():
    src = "x = " + "(" * 2000 + "1" + ")" * 2000 + "\n"
    assert isinstance(build_structure("/x/deep.py", src), list)


def test_bytes_source_with_coding_cookie():
    src = "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\nif name:\n    pass\n".encode("latin-1")
    n = {x["id"]: x for x in build_structure("/x/l1.py", src)}
    assert ".if3" in n and "s2" in n


def test_every_node_has_the_common_keys_and_valid_parents():
    src = '''
        import os
        class A:
            def m(self, *a, **k):
                try:
                    for i in a:
                        while i:
                            i = [j for j in range(i) if j] and 0
                except OSError:
                    pass
                return {k: v for k, v in k.items()}
        def main():
            if os.name:
                A().m(1)
            elif os.sep:
                pass
        main()
    '''
    nodes = build(src)
    ids = {n["id"] for n in nodes}
    for node in nodes:
        for key in ("id", "kind", "subkind", "lineno", "end_lineno", "parent"):
            assert key in node
        assert node["parent"] is None or node["parent"] in ids
        assert node["lineno"] <= node["end_lineno"]
        if node["kind"] == "branch":
            for arm in node["arms"]:
                assert set(arm) >= {"label", "first", "last", "test"}
                assert node["lineno"] <= arm["first"] <= arm["last"] <= node["end_lineno"]
        if node["kind"] == "loop":
            assert node["header"] == node["lineno"]
            assert node["body"][0] <= node["body"][1]


def _stdlib_sample(limit=200):
    import sysconfig
    from pathlib import Path
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    step = max(1, len(files) // limit)
    return files[::step]


def test_stdlib_sample_gives_consistent_trees():
    """Real-world code: unique ids, existing parents, arms and bodies inside their node."""
    checked = 0
    for path in _stdlib_sample():
        try:
            source = path.read_bytes()
        except OSError:
            continue
        nodes = build_structure(str(path), source)
        ids = [n["id"] for n in nodes]
        assert len(ids) == len(set(ids)), path
        known = set(ids)
        by_id = {n["id"]: n for n in nodes}
        for n in nodes:
            assert n["parent"] is None or n["parent"] in known, (path, n)
            if n["parent"] is not None:
                parent = by_id[n["parent"]]
                assert parent["lineno"] <= n["lineno"] <= n["end_lineno"] <= parent["end_lineno"], (path, n)
            for arm in n.get("arms", ()):
                assert n["lineno"] <= arm["first"] <= arm["last"] <= n["end_lineno"], (path, n)
            if n["kind"] == "loop":
                assert n["lineno"] <= n["body"][0] <= n["body"][1] <= n["end_lineno"], (path, n)
        checked += 1
    assert checked > 50
