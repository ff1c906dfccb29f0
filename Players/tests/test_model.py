"""Unit checks of the trace index (src/model.js), run in the real browser:
the app page's import map resolves `import("ts/model.js")`."""
from __future__ import annotations

RUN = r"""
const [id, body] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  try {
    const { TraceIndex } = await import("ts/model.js");
    const t = await (await fetch("/api/traces/" + id)).json();
    const ix = new TraceIndex(t);
    const f = new Function("ix", body);
    done({ ok: true, value: f(ix) });
  } catch (err) { done({ ok: false, error: String(err && err.stack || err) }); }
})();
"""


def run(page, trace_id, body):
    page.open("?view=record")
    r = page.d.execute_async_script(RUN, trace_id, body)
    assert r["ok"], r.get("error")
    return r["value"]


def test_calculator_multifile(page):
    v = run(page, "calculator_multifile", """
      return { raises: ix.raises, exc: ix.exceptions, files: ix.files.length,
        stack: ix.stackAt(88).map(f => ix.frameLabel(f)), unended: ix.frames.filter(f => f.endSeq < 0).length,
        unwind: ix.frames[ix.frameOf[144]].unwind, fn: ix.functionNodeOf(ix.frameOf[141]).id,
        line: ix.runToLine(ix.fileAt(141), 8, 0, 1), back: ix.runToLine(ix.fileAt(141), 8, 170, -1),
        over: ix.inFrame(138, 1), out: ix.frames[ix.frameOf[140]].endSeq };
    """)
    assert v["raises"] == [143]
    assert v["exc"] == [143, 145]
    assert v["files"] == 5
    assert v["stack"] == ["add_op.__init__", "main_calc.do_add", "main_calc.run", "main_calc.<module>"]
    assert v["unended"] == 0
    assert v["unwind"] is True
    assert v["fn"] == "compute"
    assert v["line"] == 142 and v["back"] == 142
    assert v["over"] == 145          # step over the call to compute (139..144)
    assert v["out"] == 144


def test_v01_loop_passes_are_counted_per_frame(page):
    # 0.1 counts loop iterations per node forever (bug G4); the index recounts per frame entry
    v = run(page, "sample_complex", """
      const out = [];
      for (let s = 0; s < ix.n; s++) if (ix.events[s].type === 'loop') out.push([ix.events[s].node_id, ix.events[s].iteration, ix.loopIter[s]]);
      return out;
    """)
    first = {}
    for node_id, _orig, mine in v:
        first.setdefault(node_id, mine)
    assert all(x == 0 for x in first.values()), first


def test_flask_function_node_with_decorator(page):
    v = run(page, "flask_request", "return ix.functionNodeOf(ix.frameOf[1]).id;")
    assert v == "checkout"


def test_threads_and_generators(page):
    v = run(page, "edge-threads", """
      return [...Array(ix.n).keys()].map(s => ix.stackAt(s).map(f => ix.frames[f].func).join('>'));
    """)
    assert v[3] == "gen>main"
    assert v[6] == "gen>main"            # the yield itself
    assert v[7] == "work"                # suspended: gen left main's stack
    assert v[8] == "gen>work"            # resumed on the other thread
    assert v[14] == "main"


def test_partial_deep_recursion(page):
    v = run(page, "edge-deep", """
      const last = ix.n - 1;
      return { depth: ix.depthAt(last), evDepth: ix.events[last].depth, maxRec: ix.fnodes.get(ix.frames[ix.frameOf[10]].key).maxRecursion };
    """)
    assert v["depth"] == v["evDepth"]
    assert v["maxRec"] == 3000


def test_locals_and_changes(page):
    v = run(page, "sample_program", """
      const fi = ix.frames.findIndex(f => f.func === 'checkout');
      const f = ix.frames[fi];
      const end = f.endSeq;
      const names = ix.localsAt(fi, end).map(r => r.name);
      const sub = ix.changesOf(fi, 'subtotal');
      return { names, sub: sub.length, next: ix.adjacentChange(fi, 'subtotal', sub[0], 1) === sub[1], prev: ix.adjacentChange(fi, 'subtotal', sub[1], -1) === sub[0] };
    """)
    assert "items" in v["names"] and "subtotal" in v["names"]
    assert v["sub"] >= 2 and v["next"] and v["prev"]
