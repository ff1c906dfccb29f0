"""``@traced`` for Flask views: one trace per request.

    from tracesnap.integrations.flask import traced

    app.config["TRACESNAP"] = {"output_dir": "traces", "source_files": [__file__]}

    @app.route("/checkout")
    @traced                      # below @app.route, closest to the function
    def checkout(): ...

Recording happens only with ``TRACESNAP_ENABLED=1``. The recorded status is the one the client
gets: ``return body, 201`` → 201, ``abort(404)`` → 404, an unhandled error → 500 (and the error
still reaches Flask exactly as without tracesnap). Sync and ``async def`` views (Flask's async
support) are both wrapped. See ``tracesnap.integrations._request`` for the rest.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, Optional

from ._request import RequestRecording, check_config, decorator, status_of_exception

__all__ = ["traced"]


def _config() -> Dict[str, Any]:
    from flask import current_app

    return check_config(current_app.config.get("TRACESNAP"), 'app.config["TRACESNAP"]')


def _request_info() -> Dict[str, Any]:
    from flask import request

    rule = request.url_rule
    return {"method": request.method, "path": request.path, "route": rule.rule if rule is not None else None,
            "query": request.query_string.decode("latin-1")}


def _status_of(result: Any) -> int:
    from flask import current_app

    try:
        return int(current_app.make_response(result).status_code)
    except Exception:
        return 200


def _wrap(view: Callable[..., Any], name: Optional[str]) -> Callable[..., Any]:
    is_async = inspect.iscoroutinefunction(view)

    def begin() -> Optional[RequestRecording]:
        try:
            recording = RequestRecording(view, name, _config(), is_async)
        except Exception:
            return None
        return recording if recording.begin() else None

    def end(recording: Optional[RequestRecording], status: int, error: Optional[BaseException] = None) -> None:
        if recording is None:
            return
        try:
            info = _request_info()
        except Exception:
            info = {}
        recording.end(info, status, error)

    if is_async:
        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            recording = begin()
            try:
                result = await view(*args, **kwargs)
            except BaseException as exc:
                end(recording, status_of_exception(exc), exc)
                raise
            end(recording, _status_of(result) if recording else 200)
            return result

        return async_wrapper

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        recording = begin()
        try:
            result = view(*args, **kwargs)
        except BaseException as exc:
            end(recording, status_of_exception(exc), exc)
            raise
        end(recording, _status_of(result) if recording else 200)
        return result

    return wrapper


traced = decorator(_wrap)
