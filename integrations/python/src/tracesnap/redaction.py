"""Which variable names tracesnap redacts, and how a redacted value looks.

Matching is on the variable or argument *name*, case-insensitive and exact: ``password`` and
``API_KEY`` match, ``password_hint`` does not. Names passed with ``redact_names=`` (API) or
``--redact`` (CLI) are **added** to :data:`DEFAULT_NAMES`; they never replace it. The
redaction itself happens in the native redactor plugin, before anything reaches a sink; this
module is the one place the Python side names the rules.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time in every traced process
    from typing import Any, Dict, FrozenSet, Iterable, List, Optional

__all__ = ["DEFAULT_NAMES", "REDACTED", "normalize", "effective_names", "key_rules",
           "is_redacted", "redact_value"]

#: Always redacted, whatever else is asked for.
DEFAULT_NAMES: FrozenSet[str] = frozenset({"password", "token", "secret", "authorization", "api_key"})

#: The ``repr`` a redacted value gets.
REDACTED = "<redacted>"


def normalize(names: Optional[Iterable[str]]) -> List[str]:
    """Extra names as given by a user: lower-cased, stripped, empty ones and duplicates dropped.

    A single string is split on commas, like ``--redact a,b``.
    """
    if names is None:
        return []
    if isinstance(names, str):
        names = names.split(",")
    out: List[str] = []
    for name in names:
        key = str(name).strip().lower()
        if key and key not in out:
            out.append(key)
    return out


def effective_names(extra: Optional[Iterable[str]] = None) -> FrozenSet[str]:
    """The full set of redacted names: the defaults plus ``extra``."""
    return DEFAULT_NAMES | frozenset(normalize(extra))


def key_rules(extra: Optional[Iterable[str]] = None) -> List[str]:
    """The sorted list stored in a trace as ``session.redaction.key_rules``."""
    return sorted(effective_names(extra))


def is_redacted(name: str, extra: Optional[Iterable[str]] = None) -> bool:
    return str(name).lower() in effective_names(extra)


def redact_value(value: Dict[str, Any]) -> Dict[str, Any]:
    """A trace value (``{repr, type, id, truncated, redacted}``) with its content blanked."""
    out = dict(value)
    out["repr"] = REDACTED
    out["truncated"] = False
    out["redacted"] = True
    return out
