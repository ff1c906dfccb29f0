"""``@traced`` for Django views and Django REST framework actions: one trace per request.

    # settings.py
    TRACESNAP = {"output_dir": "traces", "source_files": [str(BASE_DIR / "shop" / "views.py")]}

    # views.py
    from tracesnap.integrations.django import traced

    @traced
    def checkout(request): ...

    class ProductViewSet(viewsets.ModelViewSet):
        @traced
        @action(detail=False, methods=["get"], url_path="low-stock")
        def low_stock(self, request): ...

        @traced                                   # an inherited action: override, call super()
        def create(self, request, *args, **kwargs):
            return super().create(request, *args, **kwargs)

Recording happens only with ``TRACESNAP_ENABLED=1``. The request is found among the view's
arguments by what it has (``method``, ``path``, ``META``), so function views, class-based views'
methods and ViewSet actions all work. The recorded status is the response's; an exception records
its HTTP status (DRF ``ValidationError`` 400, ``NotFound`` 404, ``Http404`` 404,
``PermissionDenied`` 403, anything else 500) and still reaches Django unchanged. ``async def``
views are wrapped as such. See ``tracesnap.integrations._request`` for the rest.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, Optional

from ._request import RequestRecording, check_config, decorator, status_of_exception

__all__ = ["traced"]

_STATUS_BY_EXCEPTION = {"Http404": 404, "PermissionDenied": 403, "SuspiciousOperation": 400, "BadRequest": 400}


def _config() -> Dict[str, Any]:
    from django.conf import settings

    return check_config(getattr(settings, "TRACESNAP", None), "settings.TRACESNAP")


def _find_request(args: tuple, kwargs: dict) -> Any:
    for value in list(args) + list(kwargs.values()):
        if all(hasattr(value, attribute) for attribute in ("method", "path", "META")):
            return value
    return None


def _request_info(request: Any) -> Dict[str, Any]:
    if request is None:
        return {}
    match = getattr(request, "resolver_match", None)
    return {"method": request.method, "path": request.path,
            "route": getattr(match, "route", None) if match is not None else None,
            "query": request.META.get("QUERY_STRING", "")}


def _exception_status(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls.__name__ in _STATUS_BY_EXCEPTION:
            return _STATUS_BY_EXCEPTION[cls.__name__]
    return status_of_exception(exc)


def _wrap(view: Callable[..., Any], name: Optional[str]) -> Callable[..., Any]:
    is_async = inspect.iscoroutinefunction(view)

    def begin() -> Optional[RequestRecording]:
        try:
            recording = RequestRecording(view, name, _config(), is_async)
        except Exception:
            return None
        return recording if recording.begin() else None

    def end(recording: Optional[RequestRecording], request: Any, status: int,
            error: Optional[BaseException] = None) -> None:
        if recording is None:
            return
        try:
            info = _request_info(request)
        except Exception:
            info = {}
        recording.end(info, status, error)

    def status_of(result: Any) -> int:
        status = getattr(result, "status_code", 200)
        return status if isinstance(status, int) else 200

    if is_async:
        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            recording = begin()
            request = _find_request(args, kwargs)
            try:
                result = await view(*args, **kwargs)
            except BaseException as exc:
                end(recording, request, _exception_status(exc), exc)
                raise
            end(recording, request, status_of(result))
            return result

        return async_wrapper

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        recording = begin()
        request = _find_request(args, kwargs)
        try:
            result = view(*args, **kwargs)
        except BaseException as exc:
            end(recording, request, _exception_status(exc), exc)
            raise
        end(recording, request, status_of(result))
        return result

    return wrapper


traced = decorator(_wrap)
