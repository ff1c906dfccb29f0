"""A multi-threaded program for the thread stress test (test_threads_stress.py).

``python threads_program.py OUT_DIR record|plain [SCENARIO ...]``

It runs its scenarios one after the other and prints what it computed, sorted, so that the output
does not depend on how the threads interleave. With ``record`` it records every scenario
(whole-process ``tracesnap.record`` blocks, request-scoped recordings from the integrations) into
``OUT_DIR/*.json``; with ``plain`` it runs the same code unrecorded. The two outputs must be the
same: the recorder never changes what the program does.

The switch interval is tiny, so the GIL changes hands inside the recorder whenever it runs Python
(the code analyzer, a ``__repr__`` written in Python, a ``__del__``), and threads start and end
while recordings start and stop.
"""

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import sys
import threading

OUT = sys.argv[1]
RECORD = sys.argv[2] == "record"
ONLY = set(sys.argv[3:])
sys.setswitchinterval(1e-6)

if RECORD:
    os.environ["TRACESNAP_ENABLED"] = "1"
    import tracesnap
    from tracesnap.integrations._request import RequestRecording

_results = []
_results_lock = threading.Lock()
_names = itertools.count()


def out(*items):
    with _results_lock:
        _results.append(" ".join(str(item) for item in items))


def recording(name):
    """A whole-process recording of this file into OUT/<name>-<n>.json (nothing when plain)."""
    if not RECORD:
        return contextlib.nullcontext()
    path = os.path.join(OUT, f"{name}-{next(_names)}.json")
    return tracesnap.record(name, source_files=[__file__], output=path)


def try_recording(name):
    """Like ``recording``, but another whole-process recording may be active: then unrecorded."""
    if not RECORD:
        return contextlib.nullcontext()
    try:
        record = recording(name)
        record.__enter__()
    except RuntimeError:  # another recording is active in this process
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def active():
        try:
            yield
        finally:
            record.__exit__(None, None, None)

    return active()


class Box:
    """A value whose repr runs Python code (inside the recorder, with the GIL free to move)."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        total = 0
        for step in range(50):
            total += step
        return f"Box({self.value})"


class Noisy:
    """Runs Python when it is freed (a decref inside the recorder can run it)."""

    def __init__(self, value):
        self.value = value

    def __del__(self):
        total = 0
        for step in range(20):
            total += step


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def squares(n):
    for index in range(n):
        yield index * index


def risky(n):
    if n % 3 == 0:
        raise ValueError(f"bad {n}")
    return n


def fresh_function(n):
    """A new code object on every call: the analyzer (Python) runs for it while other threads trace."""
    namespace = {}
    exec(compile(f"def fresh(x):\n    y = x * {n}\n    return y + 1\n", __file__, "exec"), namespace)
    return namespace["fresh"](n)


def work(n):
    total = 0
    box = Box(n)
    items = []
    for value in squares(6):
        items.append(value + n)
        total += value
    try:
        total += risky(n)
    except ValueError:
        total -= 1
    junk = Noisy(n)
    del junk
    box.value = total + fib(7) + fresh_function(n % 4)
    return box.value


# -- scenarios -------------------------------------------------------------------------------


def scenario_threads():
    """A pool of threading.Threads, started and joined inside one recording."""
    with recording("threads"):
        threads = [threading.Thread(target=lambda n=n: out("threads", n, work(n))) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def scenario_futures():
    """concurrent.futures: a thread pool created inside the recording."""
    with recording("futures"):
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            for n, value in zip(range(12), pool.map(work, range(12))):
                out("futures", n, value)


def scenario_churn():
    """Threads running before, during and after a series of short recordings; more threads start
    and end while recordings start and stop."""
    stop = threading.Event()
    counts = [0] * 4

    def background(index):
        while not stop.is_set():
            work(index)
            counts[index] += 1
            stop.wait(0.002)  # busy enough to be inside the recorder when it stops, not flooding it

    def short(n):
        out("churn-short", n, work(n))

    running = [threading.Thread(target=background, args=(index,)) for index in range(4)]
    for thread in running:
        thread.start()
    shorts = []
    for round_ in range(10):
        with recording("churn"):
            shorts.append(threading.Thread(target=short, args=(round_,)))
            shorts[-1].start()
            out("churn-main", round_, work(round_))
        shorts.append(threading.Thread(target=short, args=(100 + round_,)))
        shorts[-1].start()
    stop.set()
    for thread in running + shorts:
        thread.join()
    out("churn-background", all(count > 0 for count in counts))


def scenario_shared_generator():
    """One generator advanced by several threads (in turn, under a lock)."""
    with recording("generator"):
        shared = squares(400)
        lock = threading.Lock()
        taken = []

        def pull():
            mine = 0
            while True:
                with lock:
                    value = next(shared, None)
                if value is None:
                    break
                mine += 1
                with _results_lock:
                    taken.append(value)
            return mine

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            counted = sum(pool.map(lambda _: pull(), range(4)))
        out("generator", counted, sum(taken))


def scenario_exceptions():
    """Exceptions raised in threads: caught, and uncaught (threading.excepthook)."""
    seen = []
    previous = threading.excepthook
    threading.excepthook = lambda args: seen.append(args.exc_type.__name__)
    try:
        with recording("exceptions"):
            def failing(n):
                work(n)
                if n % 2:
                    raise KeyError(n)
                try:
                    risky(0)
                except ValueError as exc:
                    out("exceptions-caught", n, exc)

            threads = [threading.Thread(target=failing, args=(n,)) for n in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        threading.excepthook = previous
    out("exceptions-uncaught", sorted(seen))


def scenario_concurrent_records():
    """tracesnap.record blocks on several threads at once (one whole-process recording at a time:
    the others are refused and their threads go on unrecorded)."""
    barrier = threading.Barrier(4)

    def one(n):
        barrier.wait()
        for round_ in range(3):
            with try_recording("concurrent"):
                out("concurrent", n, round_, work(n + round_))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _request(view, n):
    """A request-scoped recording (thread_scope) as the framework integrations make it."""
    if not RECORD:
        return view(n)
    request = RequestRecording(view, "req", {"output_dir": OUT, "library": False, "source_files": [__file__]})
    request.begin()
    try:
        return view(n)
    finally:
        request.end({"method": "GET", "path": f"/{n}"}, 200)


async def _async_request(view, n):
    """An async request-scoped recording (thread_scope + task_scope)."""
    if not RECORD:
        return await view(n)
    request = RequestRecording(view, "areq", {"output_dir": OUT, "library": False, "source_files": [__file__]},
                               is_async=True)
    request.begin()
    try:
        return await view(n)
    finally:
        request.end({"method": "GET", "path": f"/a/{n}"}, 200)


def scenario_requests():
    """Request recordings on many threads at once, alone and beside a whole-process recording."""
    for label, outer in (("alone", contextlib.nullcontext), ("beside", lambda: recording("beside"))):
        with outer():
            with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
                for n, value in zip(range(12), pool.map(lambda n: _request(work, n), range(12))):
                    out("requests", label, n, value)


async def async_view(n):
    total = 0
    for step in range(4):
        await asyncio.sleep(0)
        total += work(n + step)
    return total


def scenario_tasks():
    """Async request recordings (task_scope): many tasks on one loop, on two loops on two threads."""

    async def main(base):
        values = await asyncio.gather(*(_async_request(async_view, base + n) for n in range(5)))
        for n, value in enumerate(values):
            out("tasks", base + n, value)

    threads = [threading.Thread(target=asyncio.run, args=(main(base),)) for base in (0, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


SCENARIOS = {name[len("scenario_"):]: function for name, function in sorted(globals().items())
             if name.startswith("scenario_")}

for name, function in SCENARIOS.items():
    if not ONLY or name in ONLY:
        function()
for line in sorted(_results):
    print(line)
sys.stdout.flush()
