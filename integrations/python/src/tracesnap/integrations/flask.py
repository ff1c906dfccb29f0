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

from typing import Any, Callable, Dict, Optional

from ._request import check_config, decorator, wrap_view

__all__ = ["traced"]


def _config() -> Dict[str, Any]:
    from flask import current_app

    return check_config(current_app.config.get("TRACESNAP"), 'app.config["TRACESNAP"]')


def _status_of(result: Any) -> int:
    from flask import current_app

    try:
        return int(current_app.make_response(result).status_code)
    except Exception:
        return 200


def _request_info(_found: Any) -> Dict[str, Any]:
    from flask import request  # the request of this context (Flask views take no request argument)

    rule = request.url_rule
    return {"method": request.method, "path": request.path, "route": rule.rule if rule is not None else None,
            "query": request.query_string.decode("latin-1")}


def _wrap(view: Callable[..., Any], name: Optional[str]) -> Callable[..., Any]:
    return wrap_view(view, name, config=_config, request_info=_request_info, status_of=_status_of)


traced = decorator(_wrap)
