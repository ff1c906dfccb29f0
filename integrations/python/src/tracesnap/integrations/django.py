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

from typing import Any, Callable, Dict, Optional

from ._request import check_config, decorator, status_of_exception, wrap_view

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


def _status_of(result: Any) -> int:
    status = getattr(result, "status_code", 200)
    return status if isinstance(status, int) else 200


def _wrap(view: Callable[..., Any], name: Optional[str]) -> Callable[..., Any]:
    return wrap_view(view, name, config=_config, find_request=_find_request, request_info=_request_info,
                     status_of=_status_of, exception_status=_exception_status)


traced = decorator(_wrap)
