"""tracesnap._discovery: which local files `record` traces besides the entry file."""

import os

from tracesnap._discovery import MAX_FILES, discover, read_source


def rel(paths, root):
    return [os.path.relpath(p, root) for p in paths]


def test_siblings_packages_and_from_imports(tmp_path, write):
    main = write("main.py", "import helper\nfrom pkg import tool\nfrom pkg.sub import deep\nimport os, json\n")
    write("helper.py", "import util\n")
    write("util.py", "")
    write("pkg/__init__.py", "")
    write("pkg/tool.py", "")
    write("pkg/sub/__init__.py", "")
    write("pkg/sub/deep.py", "")
    write("unused.py", "")
    found = rel(discover(str(main)), tmp_path)
    assert found[0] == "main.py"
    assert set(found) == {"main.py", "helper.py", "util.py", "pkg/__init__.py", "pkg/tool.py",
                          "pkg/sub/__init__.py", "pkg/sub/deep.py"}
    # breadth first: direct imports of main before helper's import
    assert found.index("helper.py") < found.index("util.py")


def test_relative_imports_inside_packages(tmp_path, write):
    main = write("app.py", "from shop import cart\n")
    write("shop/__init__.py", "from . import prices\n")
    write("shop/cart.py", "from .prices import total\nfrom ..shared import log\n")
    write("shop/prices.py", "from .tax import rate\n")
    write("shop/tax.py", "")
    write("shared.py", "")
    found = set(rel(discover(str(main)), tmp_path))
    assert found == {"app.py", "shop/__init__.py", "shop/cart.py", "shop/prices.py", "shop/tax.py",
                     "shared.py"}


def test_relative_import_outside_the_root_is_ignored(tmp_path, write):
    main = write("proj/main.py", "from . import x\nfrom .. import y\n")
    write("y.py", "")
    write("proj/x.py", "")
    found = rel(discover(str(main)), tmp_path / "proj")
    assert found == ["main.py", "x.py"]


def test_imports_inside_functions_and_try_blocks_and_import_module(tmp_path, write):
    main = write("main.py", "def f():\n    import lazy\ntry:\n    import maybe\nexcept ImportError:\n"
                            "    pass\nimport importlib\nm = importlib.import_module('plugin')\n")
    write("lazy.py", "")
    write("maybe.py", "")
    write("plugin.py", "")
    assert set(rel(discover(str(main)), tmp_path)) == {"main.py", "lazy.py", "maybe.py", "plugin.py"}


def test_files_with_syntax_errors_are_listed_but_not_followed(tmp_path, write):
    main = write("main.py", "import broken\n")
    write("broken.py", "import hidden\ndef (:\n")
    write("hidden.py", "")
    assert rel(discover(str(main)), tmp_path) == ["main.py", "broken.py"]


def test_entry_with_a_syntax_error_is_still_listed(tmp_path, write):
    main = write("main.py", "this is not python\n")
    assert discover(str(main)) == [str(main)]


def test_cycles_and_the_cap(tmp_path, write):
    main = write("m0.py", "import m1\n")
    for i in range(1, 260):
        write(f"m{i}.py", f"import m{i + 1}\nimport m0\n")
    found = discover(str(main))
    assert len(found) == MAX_FILES
    assert len(set(found)) == len(found)
    assert len(discover(str(main), max_files=5)) == 5


def test_pep263_encoded_files_are_followed(tmp_path, write):
    main = write("main.py", "# -*- coding: latin-1 -*-\ns = 'caf\xe9'\nimport other\n", encoding="latin-1")
    write("other.py", "")
    assert rel(discover(str(main)), tmp_path) == ["main.py", "other.py"]


def test_read_source_decodes_like_python(tmp_path, write):
    p = write("l1.py", "# coding: latin-1\nx = '\xe9'\n", encoding="latin-1")
    assert "x = '\xe9'" in read_source(str(p))
    bom = write("bom.py", b"\xef\xbb\xbfx = 1\n")
    assert read_source(str(bom)) == "x = 1\n"
    bad = write("bad.py", b"# coding: utf-8\nx = '\xff'\n")
    assert read_source(str(bad)).startswith("# coding")
    assert read_source(str(tmp_path / "missing.py")) is None


def test_namespace_package_directories(tmp_path, write):
    main = write("main.py", "import ns.mod\nfrom ns import other\n")
    write("ns/mod.py", "")
    write("ns/other.py", "")
    assert set(rel(discover(str(main)), tmp_path)) == {"main.py", "ns/mod.py", "ns/other.py"}


def test_symlinked_entry_resolves_siblings_in_the_real_directory(tmp_path, write):
    real = write("real/main.py", "import sib\n")
    write("real/sib.py", "")
    link_dir = tmp_path / "links"
    link_dir.mkdir()
    link = link_dir / "main.py"
    link.symlink_to(real)
    found = discover(str(link))
    assert found[0] == str(link)
    assert found[1] == str(tmp_path / "real" / "sib.py")
