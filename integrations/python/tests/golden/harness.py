"""Record a golden program in a child process and normalise its event stream.

Used by ``tests/test_golden.py``; also runnable by hand:

    python golden/harness.py PROGRAM.py [settrace|monitoring]   # prints the normalised stream

The program runs through ``tracesnap/_launch.py`` (exactly what ``tracesnap record`` execs), in a
fresh temporary directory holding a copy of ``golden/programs``, so a recorder crash never takes
pytest down and no ``__pycache__`` lands in the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
PROGRAMS = GOLDEN / "programs"
EXPECTED = GOLDEN / "expected"

_HERE = GOLDEN.parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from tsutil import LAUNCHER, PACKAGE_DIR, _child_env, strip_ours  # noqa: E402

_ADDR = re.compile(r"0x[0-9a-fA-F]+")
_THREAD_IDENT = re.compile(r"((?:started|stopped)(?: daemon)? )\d+")


def hooks_for_this_python():
    """Hooks the recorder can use here: both on 3.12+, settrace before."""
    return ["monitoring", "settrace"] if sys.version_info >= (3, 12) else ["settrace"]


def variant_key(hook: str) -> str:
    return f"py{sys.version_info[0]}{sys.version_info[1]}-{hook}"


def core_library_present() -> bool:
    lib_dir = os.environ.get("TRACESNAP_LIB_DIR") or str(PACKAGE_DIR / "_lib")
    return (Path(lib_dir) / "libTraceSnapCore.so").exists()


def _env(extra=None):
    env = {}
    if os.environ.get("TRACESNAP_LIB_DIR"):  # dev mode; the installed wheel bundles its _lib
        env["TRACESNAP_LIB_DIR"] = os.environ["TRACESNAP_LIB_DIR"]
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return _child_env(env)


class Run:
    def __init__(self, workdir, script, plain, traced, trace):
        self.workdir = workdir
        self.script = script
        self.plain = plain
        self.traced = traced
        self.trace = trace


def record(program: str, hook: str, workdir: Path | None = None, redact=(), timeout=120) -> Run:
    """Run PROGRAM plainly and under the recorder; return both results and the trace."""
    own_tmp = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="tsgolden-")) if own_tmp else Path(workdir)
    for src in PROGRAMS.glob("*.py"):
        shutil.copy(src, workdir / src.name)
    script = workdir / program
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, cwd=str(workdir),
                           env=_env(), timeout=timeout)
    out = workdir / "trace.json"
    req = {"script": str(script), "argv": [str(script)], "trace_id": "golden", "name": "golden",
           "out": str(out), "structure_out": None, "library": False, "kind": "script",
           "redact": list(redact), "project": "golden", "plugins": None, "home": str(workdir / "home")}
    traced = subprocess.run([sys.executable, str(LAUNCHER)], capture_output=True, cwd=str(workdir),
                            env=_env({"TRACESNAP_RECORD_REQUEST": json.dumps(req),
                                      "TRACESNAP_HOOK": hook}),
                            timeout=timeout)
    trace = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    return Run(workdir, script, plain, traced, trace)


# -- normalisation -------------------------------------------------------------------------


class _Labels:
    def __init__(self, prefix):
        self.prefix = prefix
        self.map = {}

    def __call__(self, key):
        if key not in self.map:
            self.map[key] = f"{self.prefix}{len(self.map) + 1}"
        return self.map[key]


def _clean(text: str, workdir: str) -> str:
    text = text.replace(workdir, "<dir>")
    text = _THREAD_IDENT.sub(r"\1<ident>", text)
    return _ADDR.sub("0xADDR", text)


def _value(v, workdir):
    if v is None:
        return "None"
    s = _clean(v.get("repr", "?"), workdir)
    flags = ""
    if v.get("truncated"):
        flags += "!trunc"
    if v.get("redacted"):
        flags += "!redacted"
    if v.get("repr_failed"):
        flags += "!failed"
    return f"{s}:{v.get('type')}{flags}"


# Fields rendered explicitly or dropped (ts, ids); anything else is appended as key=value so
# that a new member in the stream shows up in the golden diff.
_COMMON = {"seq", "ts", "depth", "type", "line", "file", "func", "parent_seq", "frame_id", "thread"}


def normalise(trace: dict, workdir) -> list:
    workdir = str(Path(workdir).resolve())
    frames = _Labels("F")
    threads = _Labels("T")
    tasks = _Labels("K")
    lines = []
    for e in trace["events"]:
        head = [f"{e['seq']:>3}", e["type"], f"d{e.get('depth')}",
                f"{Path(str(e.get('file', '?'))).name}:{e.get('func')}:{e.get('line')}",
                frames(e.get("frame_id")) if e.get("frame_id") is not None else "F-",
                threads(e["thread"]) if "thread" in e else "T0",
                f"p{e.get('parent_seq')}" if e.get("parent_seq") is not None else "p-"]
        rest = []
        for key, val in e.items():
            if key in _COMMON:
                continue
            if key == "args":
                rest.append("args(" + ", ".join(f"{k}={_value(a, workdir)}" for k, a in val.items()) + ")")
            elif key in ("value", "prev"):
                rest.append(f"{key}={_value(val, workdir)}")
            elif key == "id":
                continue
            elif key == "task":
                rest.append(f"task={tasks(val)}")
            elif isinstance(val, str):
                rest.append(f"{key}={_clean(val, workdir)}")
            else:
                rest.append(f"{key}={json.dumps(val, sort_keys=True)}")
        lines.append(" ".join(head) + (" | " + " ".join(rest) if rest else ""))
    return lines


# -- expected files ------------------------------------------------------------------------


def expected_candidates(name: str, hook: str):
    """Most specific first: NAME@py312-settrace.txt, NAME@py312.txt, NAME.txt."""
    v = sys.version_info
    return [EXPECTED / f"{name}@py{v[0]}{v[1]}-{hook}.txt",
            EXPECTED / f"{name}@py{v[0]}{v[1]}.txt",
            EXPECTED / f"{name}.txt"]


def load_expected(name: str, hook: str):
    for path in expected_candidates(name, hook):
        if path.exists():
            return path, path.read_text(encoding="utf-8").splitlines()
    return None, None


def update_expected(name: str, hook: str, got: list) -> Path:
    """Write GOT as the generic file when there is none, else as a per-version/hook file
    (only when it differs from what would be loaded)."""
    path, current = load_expected(name, hook)
    if current == got:
        return path
    generic = EXPECTED / f"{name}.txt"
    target = generic if not generic.exists() else expected_candidates(name, hook)[0]
    target.write_text("\n".join(got) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    prog = sys.argv[1]
    hook = sys.argv[2] if len(sys.argv) > 2 else hooks_for_this_python()[0]
    run = record(prog, hook)
    sys.stdout.write("\n".join(normalise(run.trace, run.workdir)) + "\n" if run.trace else "NO TRACE\n")
    sys.stderr.write(f"exit plain={run.plain.returncode} traced={run.traced.returncode}\n")
    sys.stderr.write(strip_ours(run.traced.stderr).decode(errors="replace"))
    sys.stderr.write("\n".join(l.decode() for l in run.traced.stderr.splitlines() if l.startswith(b"tracesnap:")) + "\n")
