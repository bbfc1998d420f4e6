"""SHA-256 digests of a model's files, as registry tags, and what changed against them.

A registered version records the digest of every file of its logged model in one version tag,
`icpfit.sha256` (JSON: path -> digest; versions registered before the model carried its code
have one tag per file, `icpfit.sha256.<path>`, still read); a load compares the downloaded
files with them before anything is run. Pure functions over a folder and a tag dict: the
registry does the MLflow part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

MANIFEST_TAG = "icpfit.sha256"
TAG_PREFIX = "icpfit.sha256."
"""One tag per file: how versions registered before the manifest tag recorded their digests."""
GENERATED = frozenset({"registered_model_meta"})
"""Files MLflow writes on the caller's side each time it downloads a registered version (the
version's name and number, from the registry), so never the same as at registration."""
CACHES = "__pycache__"
"""Folders Python and numba write their compiled caches into, next to the code a version
carries, whenever it is loaded straight from a local artifact store: derived files, not the
version's, so not digested; a verified copy is loaded only after they are deleted from it
(an unchecked-hash .pyc would run instead of its verified source)."""
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(folder: Path, ignore: frozenset[str] = GENERATED) -> dict[str, str]:
    """The SHA-256 of every file under `folder`, by its POSIX path relative to `folder`,
    except the top-level files named in `ignore` and compiled caches (`CACHES`)."""
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.relative_to(folder).as_posix() not in ignore
        and CACHES not in path.relative_to(folder).parts
    }


def digest_tags(digests: Mapping[str, str]) -> dict[str, str]:
    """The version tag for `digests`: one manifest, so registering a version that carries its
    code (some 80 files) is one registry call, not 80."""
    return {MANIFEST_TAG: json.dumps(dict(sorted(digests.items())), separators=(",", ":"))}


def digests_from_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The digests a version's tags record (the manifest, or the older one tag per file);
    empty for a version registered without them."""
    if MANIFEST_TAG in tags:
        return dict(json.loads(tags[MANIFEST_TAG]))
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
