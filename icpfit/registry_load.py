"""Reading the registry: which version a URI names, its model (files verified against the
SHA-256 digests recorded at registration before any of its code runs), and the evidence its
run logged, for comparisons."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from icpfit.digests import CACHES, digest_problems, digests_from_tags, file_digests
from icpfit.io import InputError
from icpfit.serving.pyfunc import IcpFitModel
from icpfit.training.comparable import ComparableModel

URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")

_log = logging.getLogger("icpfit.registry")


class ModelNotFound(LookupError):
    """The URI names no model; the message lists what the registry has."""


class UnverifiedModel(InputError):
    """A registered version whose files in the artifact store are not the ones recorded at
    registration; the message names each file (an InputError: the command line says it as is)."""


@dataclass(frozen=True)
class LoadedModel:
    """A model from the registry: its registered name and version, and its python model
    (`.bundle`, what it learned; `.booster`; `.predict`)."""

    name: str
    version: str
    model: IcpFitModel
    params: tuple[str, ...] = ()
    """The params its logged signature accepts (what MLflow's own serving passes on)."""

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}" if self.version != "n/a" else self.name


def resolve_model(uri: str) -> tuple[str, str]:
    """(model name, version) for `models:/name@alias` or `models:/name/3`; else (uri, 'n/a')."""
    match = URI.match(uri)
    if not match:
        return uri, "n/a"
    client, name = MlflowClient(), match["name"]
    try:
        if match["alias"]:
            return name, str(client.get_model_version_by_alias(name, match["alias"]).version)
        return name, str(client.get_model_version(name, match["version"]).version)
    except MlflowException:
        raise ModelNotFound(f"{uri}: not in the registry; {_available(client, name)}") from None


def _available(client: MlflowClient, name: str) -> str:
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        names = [m.name for m in client.search_registered_models()]
        return f"registered models: {', '.join(names) or 'none'}"
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    aliases = ", ".join(f"@{a} -> v{v}" for a, v in sorted(registered.aliases.items()))
    return (
        f"{name} has versions {', '.join(map(str, versions)) or 'none'}; aliases: "
        f"{aliases or 'none'}"
    )


def load_model(uri: str) -> LoadedModel:
    """The model behind `uri`; raises ModelNotFound for a URI the registry does not have. A
    registered version is downloaded and its files checked against the SHA-256 digests its tags
    recorded before any of its code runs (`verified_copy`), then loaded from that copy."""
    name, version = resolve_model(uri)
    with tempfile.TemporaryDirectory() as tmp:
        source = uri if version == "n/a" else str(verified_copy(name, version, Path(tmp)))
        pyfunc = mlflow.pyfunc.load_model(source)
    signature = pyfunc.metadata.signature
    params = (
        tuple(p.name for p in signature.params.params) if signature and signature.params else ()
    )
    return LoadedModel(name, version, pyfunc.unwrap_python_model(), params)


def verified_copy(name: str, version: str, folder: Path) -> Path:
    """`name` v`version`'s model files downloaded into `folder` and checked against the digests
    recorded at registration; raises UnverifiedModel naming each file that changed, was added or
    is missing. A version registered without digests is returned with a warning."""
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}", dst_path=str(folder)
        )
    )
    expected = digests_from_tags(MlflowClient().get_model_version(name, version).tags)
    if not expected:
        _log.warning(
            "warning: %s v%s was registered before icpfit recorded the SHA-256 of its files, so "
            "they cannot be verified before its code runs; retrain to register "
            "a version that can be",
            name,
            version,
        )
        return local
    problems = digest_problems(expected, file_digests(local))
    if problems:
        raise UnverifiedModel(refusal(name, version, problems))
    return without_caches(local)


def without_caches(folder: Path) -> Path:
    """`folder` without its compiled caches (`__pycache__`), which the digests do not cover:
    Python may run a cached .pyc instead of its verified source, so none may come along."""
    for cache in sorted(folder.rglob(CACHES), reverse=True):
        if cache.is_dir():
            shutil.rmtree(cache)
    return folder


def refusal(name: str, version: str, problems: list[str]) -> str:
    lines = "\n".join(f"  {p}" for p in problems)
    return (
        f"{name} v{version}: refusing to load it: its files in the artifact store are not the "
        f"ones recorded when it was registered:\n{lines}\n"
        "The model is code (MLflow runs it when it loads): find out who wrote to "
        "the artifact store, restore the files from a backup, or retrain and promote a new "
        "version"
    )


def load_comparable(uri: str) -> ComparableModel:
    """The model behind `uri` and what its run logged (importance, ICP filter, training
    population, holdout); raises ModelNotFound for a bad URI."""
    loaded = load_model(uri)
    label = loaded.label if loaded.version != "n/a" else uri
    if "@" in uri:
        label += f" (@{uri.rsplit('@', 1)[1]})"
    run_id = _run_id(uri, loaded)
    if run_id is None:
        return ComparableModel(label, loaded.model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parts: dict[str, Any] = {}
        if path := _artifact(run_id, "importance.csv", folder):
            parts["importance"] = pd.read_csv(path)
        if path := _artifact(run_id, "icp_filter.yaml", folder):
            parts["icp_filter"] = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path := _artifact(run_id, "population/training_population.parquet", folder):
            parts["population"] = pd.read_parquet(path)
        if path := _artifact(run_id, "population/holdout_accounts.parquet", folder):
            parts["holdout"] = pd.read_parquet(path)
    return ComparableModel(label, loaded.model, **parts)


def load_champion(model_name: str) -> ComparableModel | None:
    """The current champion with its run's evidence, or None before the first one."""
    try:
        MlflowClient().get_model_version_by_alias(model_name, "champion")
    except MlflowException:
        return None
    return load_comparable(f"models:/{model_name}@champion")


def _run_id(uri: str, loaded: LoadedModel) -> str | None:
    if URI.match(uri):
        return MlflowClient().get_model_version(loaded.name, loaded.version).run_id
    if uri.startswith("runs:/"):
        return uri.removeprefix("runs:/").split("/", 1)[0]
    return None


def _artifact(run_id: str, path: str, folder: Path) -> Path | None:
    try:
        return Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=path, dst_path=str(folder)
            )
        )
    except (MlflowException, OSError):
        return None
