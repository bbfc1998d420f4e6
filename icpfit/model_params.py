"""`model.params` checked against LightGBM itself: its list of parameter names and aliases
(`LGBM_DumpParamAliases`) and its own parser, so a misspelt name or a value of the wrong type is
a config error instead of a warning LightGBM prints and ignores, or a crash halfway through
training."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np

PARAMETERS_PAGE = "https://lightgbm.readthedocs.io/en/stable/Parameters.html"
COLUMN_PARAMETERS = (
    "categorical_feature",
    "ignore_column",
    "label_column",
    "weight_column",
    "group_column",
)
"""Parameters that name columns of a data file: icpfit builds the matrix, so they are not
checked on LightGBM's one-column test data (which has none of the names)."""


def param_problems(params: dict[str, Any]) -> list[str]:
    """One line per parameter LightGBM does not know or refuses, 'model.params.<key>: ...'."""
    names = lightgbm_names()
    if not params or not names:
        return []
    unknown = [key for key in params if key not in names]
    lines = [unknown_parameter(key, names) for key in unknown]
    skipped = set(unknown) | column_parameters()
    for key, value in params.items():
        if key not in skipped and (reason := refused(key, value)) is not None:
            lines.append(f"model.params.{key}: LightGBM refuses {value!r}: {reason}")
    return lines


@cache
def lightgbm_names() -> frozenset[str]:
    """Every parameter name and alias the installed LightGBM knows (its C API's
    `LGBM_DumpParamAliases`, through the package's private `_ConfigAliases`); empty, so that
    nothing is checked, if a LightGBM version no longer offers it."""
    try:
        from lightgbm.basic import _ConfigAliases

        aliases = _ConfigAliases._get_all_param_aliases()
    except (ImportError, AttributeError):
        return frozenset()
    return frozenset(name for group in aliases.values() for name in group)


@cache
def column_parameters() -> frozenset[str]:
    from lightgbm.basic import _ConfigAliases

    return frozenset(_ConfigAliases.get(*COLUMN_PARAMETERS))


def unknown_parameter(key: str, names: frozenset[str]) -> str:
    closest = difflib.get_close_matches(key, sorted(names), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(closest)}?" if closest else f"see {PARAMETERS_PAGE}"
    return f"model.params.{key}: not a LightGBM parameter; {hint}"


def refused(key: str, value: Any) -> str | None:
    """Why LightGBM's parser refuses `key: value` (type or range), or None if it takes it."""
    import lightgbm as lgb

    data = np.array([[0.0], [1.0], [2.0], [3.0]])
    label = np.array([0.0, 1.0, 0.0, 1.0])
    try:
        with _quiet_native_stderr():
            lgb.Dataset(data, label=label, params={"verbosity": -1, key: value}).construct()
    except (lgb.basic.LightGBMError, TypeError, ValueError) as exc:
        return plain_reason(str(exc))
    return None


def plain_reason(message: str) -> str:
    """LightGBM's message without its C++ source location, in words where it is cryptic."""
    message = message.strip().splitlines()[0] if message.strip() else "refused"
    if token := re.match(r"Unknown token (.*) in data file", message):
        return f"it must be a number, and '{token.group(1)}' is not one"
    if check := re.match(r"Check failed: \((\w+)\) (\S+) \(([^)]*)\)", message):
        return f"it must be {check.group(2)} {check.group(3)}"
    if typed := re.match(r"Parameter \w+ (should be .*)", message):
        return f"it {typed.group(1)}"
    if kind := re.match(r"Unknown type of parameter:\w+, got:(\w+)", message):
        return f"a {kind.group(1)} is not a parameter value"
    return re.sub(r" at \S+, line \d+ ?\.?$", "", message)


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """LightGBM's C++ side prints '[LightGBM] [Fatal] ...' to the process's stderr before it
    raises; the caller says the same in one clear line, so that copy is dropped."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
