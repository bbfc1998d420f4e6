"""SHA-256 digests of a model's files, as registry tags, and what changed against them.

A registered version records the digest of every file of its logged model as a version tag
(`icpfit.sha256.<path>`); a load compares the downloaded files with them before anything is
unpickled. Pure functions over a folder and a tag dict: the registry does the MLflow part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

TAG_PREFIX = "icpfit.sha256."
GENERATED = frozenset({"registered_model_meta"})
"""Files MLflow writes on the caller's side each time it downloads a registered version (the
version's name and number, from the registry), so never the same as at registration."""
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(folder: Path, ignore: frozenset[str] = GENERATED) -> dict[str, str]:
    """The SHA-256 of every file under `folder`, by its POSIX path relative to `folder`,
    except the top-level files named in `ignore`."""
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() not in ignore
    }


def digest_tags(digests: Mapping[str, str]) -> dict[str, str]:
    """Version tags for `digests`: `icpfit.sha256.<relative path>` -> hex digest."""
    return {f"{TAG_PREFIX}{path}": digest for path, digest in digests.items()}


def digests_from_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The digests a version's tags record; empty for a version registered without them."""
    return {
        key.removeprefix(TAG_PREFIX): value
        for key, value in tags.items()
        if key.startswith(TAG_PREFIX)
    }


def digest_problems(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """One line per file that differs from what was registered: changed, added or missing."""
    changed = [p for p in sorted(expected.keys() & actual.keys()) if expected[p] != actual[p]]
    added = sorted(actual.keys() - expected.keys())
    missing = sorted(expected.keys() - actual.keys())
    return [
        *(f"{p} changed (its SHA-256 is not the one recorded at registration)" for p in changed),
        *(f"{p} was added (not among the files recorded at registration)" for p in added),
        *(f"{p} is missing (recorded at registration)" for p in missing),
    ]
