"""The SHA-256 digests a registered version records of its model files, and the check of a
downloaded copy against them (icpfit.digests)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from icpfit.digests import (
    GENERATED,
    MANIFEST_TAG,
    TAG_PREFIX,
    digest_problems,
    digest_tags,
    digests_from_tags,
    file_digests,
    file_sha256,
)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """The layout of a logged pyfunc model, as MLflow downloads a registered version."""
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "python_model.pkl").write_bytes(b"\x80\x04pickle")
    (tmp_path / "artifacts" / "bundle.json").write_text("{}")
    (tmp_path / "artifacts" / "booster.txt").write_text("tree\n")
    (tmp_path / "registered_model_meta").write_text("model_name: icp-fit\nmodel_version: '3'\n")
    return tmp_path


def test_file_sha256_is_the_standard_digest(tmp_path: Path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)  # larger than one read chunk
    assert file_sha256(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_every_file_by_its_relative_posix_path_except_mlflows_own(model_dir: Path):
    digests = file_digests(model_dir)
    assert sorted(digests) == [
        "MLmodel",
        "artifacts/booster.txt",
        "artifacts/bundle.json",
        "python_model.pkl",
    ]
    assert digests["python_model.pkl"] == hashlib.sha256(b"\x80\x04pickle").hexdigest()
    assert "registered_model_meta" in GENERATED


def test_only_mlflows_file_at_the_top_is_ignored(model_dir: Path):
    (model_dir / "artifacts" / "registered_model_meta").write_text("smuggled")
    assert "artifacts/registered_model_meta" in file_digests(model_dir)


def test_tags_round_trip_and_other_tags_are_ignored(model_dir: Path):
    digests = file_digests(model_dir)
    tags = digest_tags(digests)
    assert list(tags) == [MANIFEST_TAG], "one registry call, however many files"
    assert (
        json.loads(tags[MANIFEST_TAG])["artifacts/bundle.json"] == digests["artifacts/bundle.json"]
    )
    assert digests_from_tags({**tags, "quarter": "2026Q3", "decision": "champion"}) == digests
    # a version registered with one tag per file still reads
    per_file = {f"{TAG_PREFIX}{path}": digest for path, digest in digests.items()}
    assert digests_from_tags({**per_file, "quarter": "2026Q3"}) == digests


def test_compiled_caches_are_not_the_versions_files(model_dir: Path):
    cache = model_dir / "code" / "icpfit" / "__pycache__"
    cache.mkdir(parents=True)
    (cache / "scoring.cpython-311.pyc").write_bytes(b"cache")
    (model_dir / "code" / "icpfit" / "scoring.py").write_text("x = 1\n")
    assert not any("__pycache__" in path for path in file_digests(model_dir))
    assert "code/icpfit/scoring.py" in file_digests(model_dir)


def test_a_version_without_digests_has_none():
    assert digests_from_tags({"quarter": "2026Q3"}) == {}


def test_an_untouched_copy_has_no_problems(model_dir: Path):
    recorded = file_digests(model_dir)
    (model_dir / "registered_model_meta").write_text("rewritten on every download")
    assert digest_problems(recorded, file_digests(model_dir)) == []


def test_a_changed_file_is_named(model_dir: Path):
    recorded = file_digests(model_dir)
    with (model_dir / "python_model.pkl").open("ab") as handle:
        handle.write(b"\n")  # the unpickler stops before it: only the digest sees it
    assert digest_problems(recorded, file_digests(model_dir)) == [
        "python_model.pkl changed (its SHA-256 is not the one recorded at registration)"
    ]


def test_an_added_file_is_named(model_dir: Path):
    recorded = file_digests(model_dir)
    (model_dir / "artifacts" / "hook.py").write_text("import os")
    assert digest_problems(recorded, file_digests(model_dir)) == [
        "artifacts/hook.py was added (not among the files recorded at registration)"
    ]


def test_a_missing_file_is_named(model_dir: Path):
    recorded = file_digests(model_dir)
    (model_dir / "artifacts" / "booster.txt").unlink()
    assert digest_problems(recorded, file_digests(model_dir)) == [
        "artifacts/booster.txt is missing (recorded at registration)"
    ]


def test_every_kind_of_change_at_once_changed_first():
    recorded = {"MLmodel": "a", "python_model.pkl": "b", "gone.txt": "c"}
    found = {"MLmodel": "a", "python_model.pkl": "B", "new.txt": "d"}
    assert [p.split()[0:2] for p in digest_problems(recorded, found)] == [
        ["python_model.pkl", "changed"],
        ["new.txt", "was"],
        ["gone.txt", "is"],
    ]


def test_a_verified_copy_loses_its_compiled_caches(model_dir: Path):
    from icpfit.registry_load import without_caches

    planted = model_dir / "code" / "icpfit" / "__pycache__"
    planted.mkdir(parents=True)
    (planted / "scoring.cpython-311.pyc").write_bytes(b"not the verified source")
    (model_dir / "__pycache__").mkdir()
    before = file_digests(model_dir)
    assert without_caches(model_dir) == model_dir
    assert not list(model_dir.rglob("__pycache__")) and file_digests(model_dir) == before
