"""What an exception that ended a command tells the user, in words: the message and exit code
of the CLI's one error path (`icpfit.cli`). Pure: it prints nothing and imports nothing heavy."""

from __future__ import annotations

import re
import sys

from icpfit.config import ConfigError

USER_ERRORS = {
    "icpfit.io": ("InputError", "ExportError"),
    "icpfit.table_text": ("UnreadableTable",),
    "icpfit.features.problems": ("DataError",),
    "icpfit.registry": ("ModelNotFound",),
    "icpfit.training.fit": ("TooFewLabels",),
}
"""Errors a user can cause whose message says what to do, by the module that defines them."""
TRACEBACK = "Traceback (most recent call last)"
RAISED = re.compile(r"^[\w.]+(Error|Exception): ")


def failure(exc: Exception) -> tuple[str, int]:
    """The message and exit code for an exception that ended a command: a user's error says
    what to do (a config error exits 2); a file the system refused names the file; anything
    else is an internal error, in one line."""
    if isinstance(exc, ConfigError):
        return str(exc), 2
    if isinstance(exc, _user_errors()):
        return str(exc), 1
    if _is_mlflow_error(exc):
        return str(getattr(exc, "message", exc)), 1
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
        return (f"{paths}: {exc.strerror}" if paths else exc.strerror), 1
    text = one_line(str(exc))
    return f"internal error: {type(exc).__name__}: {text} — rerun with --debug and report it", 1


def one_line(message: str, limit: int = 400) -> str:
    """A message in one line of at most `limit` characters; one that carries a traceback (a
    Spark worker's) is cut to the exception it ends in."""
    if TRACEBACK in message:
        raised = [line for line in message.splitlines() if RAISED.match(line)]
        message = raised[-1] if raised else message.split(TRACEBACK)[0]
    text = " ".join(message.split()) or "(no message)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _user_errors() -> tuple[type, ...]:
    """The user-error classes of the modules loaded so far (an exception of a module never
    imported cannot have been raised, and importing MLflow to check would take seconds)."""
    found = (
        getattr(sys.modules[module], name, None)
        for module, names in USER_ERRORS.items()
        if module in sys.modules
        for name in names
    )
    return tuple(t for t in found if isinstance(t, type))


def _is_mlflow_error(exc: Exception) -> bool:
    exceptions = sys.modules.get("mlflow.exceptions")
    return exceptions is not None and isinstance(exc, exceptions.MlflowException)
