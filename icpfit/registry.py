"""The MLflow registry and tracking store: the only module that talks to them (DESIGN §7).

It logs a retrain's run and model, registers the version and moves its alias, resolves and loads
a version (with the evidence its run logged, for comparisons), and promotes or rolls back.
Aliases move last: a retrain that fails at any step, or is stopped by SIGINT or SIGTERM, leaves
`champion` and `challenger` where they were, deletes the version it registered and marks its run
FAILED; trains on one SQLite or file store wait for each other (`train_lock`). Each version records
the SHA-256 of its model's files as tags, and `load_model` checks them before unpickling.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, DataType, Schema

from icpfit.config import IcpConfig
from icpfit.digests import digest_problems, digest_tags, digests_from_tags, file_digests
from icpfit.features.labels import cohort_counts
from icpfit.features.pipeline import LabelledExport
from icpfit.guards import pause_for_test, signals_held, signals_raise, store_lock
from icpfit.io import InputError
from icpfit.serving.pyfunc import IcpFitModel, registered_params
from icpfit.training.comparable import DECIDED, LTV, OOF, TARGET, ComparableModel
from icpfit.training.compare import Comparison
from icpfit.training.fit import TrainingRun
from icpfit.training.promotion import Decision
from icpfit.training.run_report import RunReport

URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")
HEADLINE = ("roc_auc", "pr_auc", "lift_top_decile", "ltv_share_tiers_ab")
REQUIREMENTS = ["lightgbm", "pandas", "numpy", "scikit-learn", "pydantic", "pyyaml", "mlflow"]
ALIASES = ("champion", "challenger")

_log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    decision: Decision


def tracking(uri: str | None = None) -> str:
    """Point MLflow at `uri`, else MLFLOW_TRACKING_URI, else an SQLite store in the working dir."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    mlflow.set_tracking_uri(uri)
    return uri


def tracking_uri() -> str:
    return mlflow.get_tracking_uri()


# Reading: which version a URI names, the model, the evidence its run logged.


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
    recorded before anything is unpickled (`verified_copy`), then loaded from that copy."""
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
            "they cannot be verified before python_model.pkl is unpickled; retrain to register "
            "a version that can be",
            name,
            version,
        )
        return local
    problems = digest_problems(expected, file_digests(local))
    if problems:
        raise UnverifiedModel(refusal(name, version, problems))
    return local


def refusal(name: str, version: str, problems: list[str]) -> str:
    lines = "\n".join(f"  {p}" for p in problems)
    return (
        f"{name} v{version}: refusing to load it: its files in the artifact store are not the "
        f"ones recorded when it was registered:\n{lines}\n"
        "The model is code (python_model.pkl is unpickled when it loads): find out who wrote to "
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


# Writing: one run per retrain, its model, the version and its alias.


def table_hash(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def log_and_register(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    quarter: str,
    report: RunReport,
    candidate: ComparableModel,
    decision: Decision,
    git_sha: str = "unknown",
    drift: pd.DataFrame | None = None,
    comparison: Comparison | None = None,
) -> RegisteredVersion:
    """Log the run (with `candidate`'s training population and holdout, which later
    comparisons read), log `candidate.model`, register it with its files' digests and, last,
    give it `decision`'s alias. On any failure, SIGINT or SIGTERM before the run has ended, the
    aliases go back to where they were, the version is deleted and the run is marked FAILED."""
    name = config.registry.model_name
    mlflow.set_experiment(config.registry.experiment)
    aliases = alias_versions(MlflowClient(), name)
    started: list[str] = []
    try:
        with (
            signals_raise(),
            mlflow.start_run(run_name=quarter) as active,
            tempfile.TemporaryDirectory() as tmp,
        ):
            started.append(active.info.run_id)
            _log_run(run, prepared, config, quarter, git_sha, report, Path(tmp))
            _log_comparison(candidate, drift, comparison, config, Path(tmp))
            version = _register_and_log_model(candidate, name, Path(tmp))
            pause_for_test("register")
            mlflow.set_tags({"model_version": version.version, "alias": decision.alias})
            _record(config, version.version, quarter, prepared, run, git_sha, decision)
            pause_for_test("alias")
    except BaseException:
        with signals_held():
            undo_registration(name, aliases, started[0] if started else None)
        raise
    return RegisteredVersion(name, version.version, active.info.run_id, decision)


def alias_versions(client: MlflowClient, name: str) -> dict[str, str]:
    """Which version each of `champion` and `challenger` names now (absent: not set)."""
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        return {}
    return {a: str(v) for a, v in registered.aliases.items() if a in ALIASES}


def undo_registration(name: str, aliases: dict[str, str], run_id: str | None) -> None:
    """After a retrain failed or was stopped: the aliases back to `aliases`, every version of
    `name` its run registered deleted, the run marked FAILED. Logs what it did, or what is
    left to do by hand when a step fails."""
    client, done = MlflowClient(), []
    try:
        if run_id is not None:
            active = mlflow.active_run()
            if active is not None and active.info.run_id == run_id:
                mlflow.end_run("FAILED")
            client.set_terminated(run_id, "FAILED")
            done.append(f"run {run_id} marked FAILED")
        done.extend(_restore_aliases(client, name, aliases))
        if run_id is not None:
            for version in client.search_model_versions(f"name='{name}' and run_id='{run_id}'"):
                client.delete_model_version(name, version.version)
                done.append(f"{name} v{version.version} deleted")
    except Exception as exc:  # the original failure is what the user must see; say what is left
        _log.warning(
            "warning: could not undo the registration (%s): check the aliases of %s and delete "
            "the versions of run %s by hand",
            exc,
            name,
            run_id,
        )
        return
    _log.warning("train stopped: %s; aliases as before", ", ".join(done) or "nothing registered")


def _restore_aliases(client: MlflowClient, name: str, aliases: dict[str, str]) -> list[str]:
    now, done = alias_versions(client, name), []
    for alias in ALIASES:
        if now.get(alias) == aliases.get(alias):
            continue
        if alias in aliases:
            client.set_registered_model_alias(name, alias, aliases[alias])
            done.append(f"@{alias} back to v{aliases[alias]}")
        else:
            client.delete_registered_model_alias(name, alias)
            done.append(f"@{alias} removed")
    return done


def _log_run(
    run: TrainingRun,
    prepared: LabelledExport,
    config: IcpConfig,
    quarter: str,
    git_sha: str,
    report: RunReport,
    tmp: Path,
) -> None:
    export = prepared.export
    mlflow.set_tags({"quarter": quarter, "as_of": prepared.as_of.isoformat(), "git_sha": git_sha})
    mlflow.log_params(
        {
            "as_of": prepared.as_of.isoformat(),
            **{f"label_{k}": v for k, v in config.labels.model_dump().items()},
            **{f"cohort_{k}": v for k, v in cohort_counts(prepared.labels).items()},
            "rows_trained": len(run.rows),
            "rows_backtest": len(run.scores),
            "trained_through": run.trained_through.date().isoformat(),
            "backtest_scheme": run.backtest.scheme,
            "backtest_folds": len(run.backtest.folds),
            **{f"recipe_{k}": v for k, v in asdict(run.recipe).items()},
            **{
                f"hash_{n}": table_hash(getattr(export, n))
                for n in ("accounts", "opportunities", "revenue", "technologies", "signals")
            },
            "best_iteration": run.model.best_iteration_,
            "features": prepared.features.frame.shape[1],
        }
    )
    for scorer, values in run.metrics.iterrows():
        mlflow.log_metrics({f"{scorer}_{k}": float(v) for k, v in values.items() if v == v})
    mlflow.log_text(run.backtest.per_fold.reset_index().to_csv(index=False), "backtest/folds.csv")
    mlflow.log_text(run.backtest.search.to_csv(index=False), "backtest/recipes.csv")
    mlflow.log_dict(config.model_dump(mode="json", exclude={"source"}), "config.json")
    mlflow.log_text(
        yaml.safe_dump(report.icp_filter, sort_keys=False, allow_unicode=True), "icp_filter.yaml"
    )
    mlflow.log_text(report.icp_filter["sql"]["icp"] + "\n", "icp_filter.sql")
    mlflow.log_text(report.importance.to_csv(index=False), "importance.csv")
    mlflow.log_text(report.html, "report.html")
    for name, png in report.images.items():
        (tmp / name).write_bytes(png)
        mlflow.log_artifact(str(tmp / name), artifact_path="plots")
    if len(run.segments):
        mlflow.log_text(run.segments.to_csv(index=False), "segments.csv")
    labelled = prepared.labels.loc[run.rows, ["cohort", "target"]]
    mlflow.log_input(
        mlflow.data.from_pandas(
            prepared.features.frame.loc[run.rows]
            .join(labelled)
            .astype({"cohort": str, "target": float})
            .reset_index(),
            name="labelled_accounts",
            targets="target",
        ),
        context="training",
    )


def _log_comparison(
    candidate: ComparableModel,
    drift: pd.DataFrame | None,
    comparison: Comparison | None,
    config: IcpConfig,
    tmp: Path,
) -> None:
    folder = tmp / "population"
    folder.mkdir(exist_ok=True)
    for name, frame in (
        ("training_population", candidate.population),
        ("holdout_accounts", candidate.holdout),
    ):
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
            mlflow.log_artifact(str(folder / f"{name}.parquet"), artifact_path="population")
    if drift is not None:
        flagged = drift.loc[drift["psi"] > config.drift.psi_threshold, "feature"]
        mlflow.log_text(drift.to_csv(index=False), "drift.csv")
        mlflow.log_metric("drifted_features", len(flagged))
        mlflow.set_tag("drift_warnings", ", ".join(flagged)[:5000] or "none")
    if comparison is not None:
        for name, table in comparison.tables().items():
            mlflow.log_text(table.to_csv(index=False), f"compare/{name}")
        mlflow.log_text(comparison.html(), "compare/compare.html")
        mlflow.log_text("\n".join(comparison.summary_lines()) + "\n", "compare/summary.txt")
        mlflow.set_tag("compared_with", comparison.label_a)


def _register_and_log_model(candidate: ComparableModel, model_name: str, tmp: Path) -> ModelVersion:
    """Register the version first and log the model into it after, so the model's signature can
    name the version it is (a REST answer then says which version scored it, unasked); then the
    SHA-256 of each of its files is recorded as a version tag. A failure after registration is
    undone by `log_and_register`. The logged model carries the run's params, as `log_model`
    gives a model it creates itself."""
    run_params = mlflow.get_run(mlflow.active_run().info.run_id).data.params
    logged = mlflow.initialize_logged_model(name="model", params=run_params)
    version = mlflow.register_model(f"models:/{logged.model_id}", model_name)
    params = registered_params(model_name, str(version.version))
    _log_model(candidate, logged.model_id, params, tmp)
    _record_digests(model_name, str(version.version), tmp / "registered")
    return version


def _record_digests(name: str, version: str, folder: Path) -> None:
    """Tag the version with the SHA-256 of each file of its model, as a load downloads them."""
    folder.mkdir()
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version}", dst_path=str(folder)
    )
    client = MlflowClient()
    for key, value in digest_tags(file_digests(Path(local))).items():
        client.set_model_version_tag(name, version, key, value)


def _log_model(candidate: ComparableModel, model_id: str, params: dict, tmp: Path):
    """The candidate's own bundle and booster as the pyfunc's artifacts, `params` (with their
    defaults) in its signature; its holdout's first rows as the input example."""
    model = candidate.model
    booster_path, bundle_path = tmp / "booster.txt", tmp / "bundle.json"
    model.booster.save_model(str(booster_path), num_iteration=model.bundle["best_iteration"])
    bundle_path.write_text(json.dumps(model.bundle))
    example = candidate.holdout.drop(columns=[TARGET, LTV, OOF, DECIDED], errors="ignore").head(3)
    inferred = infer_signature(example, model.predict(None, example, params), params)
    id_column = model.bundle["accounts_columns"].get("account_id", "account_id")
    signature = ModelSignature(
        inputs=raw_cells(inferred.inputs, id_column),
        outputs=inferred.outputs,
        params=inferred.params,
    )
    return mlflow.pyfunc.log_model(
        name="model",
        model_id=model_id,
        python_model=model,
        artifacts={"booster": str(booster_path), "bundle": str(bundle_path)},
        signature=signature,
        input_example=with_nulls(example),
        pip_requirements=REQUIREMENTS,
    )


def raw_cells(inferred: Schema, id_column: str) -> Schema:
    """The input as the export's cells: only the account id required, and a column inferred as
    a number typed as any value. MLflow's server casts a column to its declared number type
    before the model sees it, so one cell like 'lots' would refuse the whole request; typed as
    any, the cell reaches the model, which gives that row an error, as `icpfit score` does."""
    return Schema(
        [
            ColSpec(
                c.type if c.type == DataType.string else AnyType(),
                c.name,
                required=c.name == id_column,
            )
            for c in inferred.inputs
        ]
    )


def with_nulls(frame: pd.DataFrame) -> pd.DataFrame:
    """Blanks as None, which MLflow writes to the serving example as JSON null (NaN it writes
    as the token NaN, which is not JSON)."""
    return frame.astype(object).where(frame.notna(), None)


def _record(
    config: IcpConfig,
    version: str,
    quarter: str,
    prepared: LabelledExport,
    run: TrainingRun,
    git_sha: str,
    decision: Decision,
) -> None:
    client, name = MlflowClient(), config.registry.model_name
    tags = {
        "quarter": quarter,
        "as_of": prepared.as_of.isoformat(),
        "git_sha": git_sha,
        "decision": decision.alias,
        "forced": str(decision.forced).lower(),
        **{k: f"{run.metrics.loc['model', k]:.4f}" for k in HEADLINE},
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    client.update_model_version(name, version, description=f"{quarter}: {decision.reason}")
    if decision.alias == "champion":
        try:
            previous = client.get_model_version_by_alias(name, "champion").version
            client.set_model_version_tag(name, version, "previous_champion", str(previous))
        except MlflowException:
            pass
    client.set_registered_model_alias(name, decision.alias, version)


def promote_version(name: str, version: str) -> str | None:
    """Make `version` the champion by hand; returns the previous champion's version. Refuses an
    orphan version: one whose run did not finish (a train that failed or was stopped)."""
    client = MlflowClient()
    check_finished(client, client.get_model_version(name, version))
    try:
        previous = str(client.get_model_version_by_alias(name, "champion").version)
    except MlflowException:
        previous = None
    if previous is not None and previous != str(version):
        client.set_model_version_tag(name, version, "previous_champion", previous)
    client.set_model_version_tag(name, version, "decision", "champion")
    client.set_registered_model_alias(name, "champion", version)
    return previous


def rollback_champion(name: str) -> tuple[str, str]:
    """Move `champion` back to the version it replaced, as recorded on the current champion."""
    client = MlflowClient()
    current = client.get_model_version_by_alias(name, "champion")
    previous = current.tags.get("previous_champion")
    if not previous:
        raise MlflowException(f"{name} v{current.version} has no recorded previous champion")
    check_finished(client, client.get_model_version(name, previous))
    client.set_registered_model_alias(name, "champion", previous)
    client.set_model_version_tag(name, current.version, "rolled_back", "true")
    return str(current.version), previous


def check_finished(client: MlflowClient, version: ModelVersion) -> None:
    """Raise unless the run that registered `version` ended FINISHED: a version whose run is
    RUNNING, FAILED or KILLED (or gone) is an orphan of a train that did not complete."""
    label = f"{version.name} v{version.version}"
    try:
        status = client.get_run(version.run_id).info.status if version.run_id else None
    except MlflowException:
        status = None
    if status == "FINISHED":
        return
    why = f"its run {version.run_id} is {status}" if status else "it has no run in this store"
    raise MlflowException(
        f"{label} is an orphan: {why}, not FINISHED, so the train that registered it did not "
        f"complete; promote a version whose run finished (see `mlflow ui`), or delete {label}"
    )


def train_lock(uri: str, on_wait: Callable[[str], object]) -> AbstractContextManager[None]:
    """Serialize trains on one store: for an SQLite store, a lock on `<database>.icpfit-lock`
    beside the database; for a file store, on `.icpfit-lock` in its folder. `on_wait` gets the
    "waiting for another train" message when another process holds it. A tracking server or
    database server gets no lock (the README says what happens there)."""
    lock_file = _lock_file(uri)
    if lock_file is None:
        return nullcontext()

    def waiting(pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        message = f"waiting for another train on {uri} ({holder}) to finish…"
        _log.warning(message)
        on_wait(message)

    return store_lock(lock_file, waiting)


def _lock_file(uri: str) -> Path | None:
    """Where the lock of a local store lives; None for a server or an in-memory database."""
    scheme, _, rest = uri.partition(":")
    if scheme == "sqlite":
        database = Path(rest.removeprefix("///").split("?", 1)[0])
        if database.name in ("", ":memory:") or not database.parent.is_dir():
            return None
        return database.with_name(database.name + ".icpfit-lock")
    if scheme == "file":
        folder = Path(rest.removeprefix("//"))
    elif "://" not in uri and not uri.startswith("databricks"):
        folder = Path(uri)  # a plain path: a file store
    else:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return folder / ".icpfit-lock"
