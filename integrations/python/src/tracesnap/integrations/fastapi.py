"""``@traced`` for FastAPI (Starlette) endpoints: one trace per request.

    from fastapi import FastAPI, Request
    from tracesnap.integrations.fastapi import configure, traced

    app = FastAPI()
    configure(output_dir="traces", source_files=[__file__])

    @app.get("/checkout")
    @traced                                # below @app.get, closest to the function
    async def checkout(request: Request): ...

Recording happens only with ``TRACESNAP_ENABLED=1``. ``def`` and ``async def`` endpoints are both
wrapped; an async one records only its own asyncio task, so other requests that the event loop
runs meanwhile stay out of its trace. The endpoint's signature is kept (FastAPI reads it for
dependency injection). Declare a ``request: Request`` parameter to get the method, path, route
and query in the trace. The recorded status is the returned response's (200 for plain values),
an ``HTTPException``'s code, or 500 for any other error (which still reaches FastAPI unchanged).
See ``tracesnap.integrations._request`` for the rest.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional

from ._request import check_config, decorator, wrap_view

__all__ = ["configure", "traced"]

_settings: Dict[str, Any] = {}


def configure(output_dir: Optional[str] = None, source_files: Optional[Iterable[str]] = None,
              redact_names: Optional[Iterable[str]] = None, trace_id_prefix: Optional[str] = None,
              **more: Any) -> None:
    """Sets the process-wide settings of the FastAPI integration (see ``_request._KEYS``)."""
    given = {"output_dir": output_dir, "source_files": list(source_files) if source_files else None,
             "redact_names": list(redact_names) if redact_names else None, "trace_id_prefix": trace_id_prefix}
    given.update(more)
    _settings.clear()
    _settings.update(check_config({k: v for k, v in given.items() if v is not None}, "configure()"))


def _find_request(args: tuple, kwargs: dict) -> Any:
    for value in list(kwargs.values()) + list(args):
        if hasattr(value, "scope") and hasattr(value, "method") and hasattr(value, "url"):
            return value
    return None


def _request_info(request: Any) -> Dict[str, Any]:
    if request is None:
        return {}
    route = request.scope.get("route")
    return {"method": request.method, "path": request.url.path,
            "route": getattr(route, "path", None), "query": request.url.query}


def _status_of(result: Any) -> int:
    status = getattr(result, "status_code", 200)
    return status if isinstance(status, int) else 200


def _wrap(view: Callable[..., Any], name: Optional[str]) -> Callable[..., Any]:
    return wrap_view(view, name, config=lambda: dict(_settings), find_request=_find_request,
                     request_info=_request_info, status_of=_status_of)


traced = decorator(_wrap)
