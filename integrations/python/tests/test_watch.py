"""tracesnap._watch without the core: a watched callable, sync or async, reports each outermost
call once (nested calls of the same callable are part of it), returns and raises as before, and
is given back when the last watcher stops."""

import asyncio
import types

import pytest

import tsutil  # noqa: F401  (the package under test on sys.path)
from tracesnap import _watch


def _module():
    module = types.ModuleType("watched_fake")

    class Client:
        def send(self, n, retry=True):
            if n < 0:
                raise ValueError(f"negative {n}")
            if retry and n > 0:
                return self.send(n - 1, retry=False)  # nested: not reported on its own
            return n * 10

        async def fetch(self, n):
            await asyncio.sleep(0)
            if n < 0:
                raise KeyError(n)
            return n + 1

    module.Client = Client
    return module


def _watcher(module, reports):
    specs = [{"plugin": 0, "watch": 0, "module": module.__name__, "qualname": "Client.send",
              "reads": ["args[1]", "result", "exception#str", "kwargs.retry"]},
             {"plugin": 0, "watch": 1, "module": module.__name__, "qualname": "Client.fetch",
              "reads": ["args[1]", "result"]}]

    def report(watch, started, ended, values, exception):
        assert ended >= started
        reports.append((watch.index, values, type(exception).__name__ if exception else None))

    watcher = _watch.Watcher(specs, report)
    for watch in watcher.watches:
        assert watch.install(module)
    return watcher


def test_sync_and_async_calls_are_reported_once_and_unchanged():
    module = _module()
    original_send, original_fetch = module.Client.send, module.Client.fetch
    reports = []
    watcher = _watcher(module, reports)
    client = module.Client()
    assert module.Client.send is not original_send
    assert client.send(2) == 10
    with pytest.raises(ValueError, match="negative -1"):
        client.send(-1)
    assert asyncio.run(client.fetch(4)) == 5
    with pytest.raises(KeyError):
        asyncio.run(client.fetch(-3))
    assert module.Client.send.__name__ == "send"
    assert reports == [
        (0, {"args[1]": 2, "result": 10, "exception#str": None, "kwargs.retry": None}, None),
        (0, {"args[1]": -1, "result": None, "exception#str": "negative -1", "kwargs.retry": None}, "ValueError"),
        (1, {"args[1]": 4, "result": 5}, None),
        (1, {"args[1]": -3, "result": None}, "KeyError"),
    ]
    watcher.uninstall()
    assert module.Client.send is original_send and module.Client.fetch is original_fetch
