"""Leftovers of a train that was killed (kill -9, a power cut) before it could undo itself: a run
stuck in RUNNING, the versions it registered (orphans) and an alias it may have moved onto one.

A train records its process on its run when it starts (`icpfit.pid`, `icpfit.host`) and, just
before it moves an alias, the version that alias named (`icpfit.previous_<alias>`, `none` when
it was not set). `recover_dead_trains` runs at the start of every train (under the store's train
lock) and of every `promote` and `rollback`. A RUNNING run is a dead train's when:

- its host is this machine and its process is gone (a live process, ours included, is left
  alone; a pid reused by another process counts as live, so nothing is removed on a guess);
- or it cannot be checked from here (another host, Windows, a run without the tags: an older
  icpfit or another tool) and it started more than STALE_HOURS ago: no train runs that long.

Each is cleaned up in three steps, newest first, so that a cleanup stopped halfway is finished by
the next one: the aliases on its versions go back to the recorded version (removed, and said so,
when there is no record or that version is gone), its versions are deleted, and only then is
the run marked FAILED. One plain line per run says what was done.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from icpfit.io import pid_alive
from icpfit.registry_aliases import ALIASES, alias_versions

PID_TAG = "icpfit.pid"
HOST_TAG = "icpfit.host"
PREVIOUS_TAG = "icpfit.previous_{alias}"
RECOVERED_TAG = "icpfit.recovered"
NOT_SET = "none"
STALE_HOURS = 24
"""A RUNNING run whose process cannot be checked counts as dead after this many hours."""

_log = logging.getLogger("icpfit.registry")


def process_tags() -> dict[str, str]:
    """The tags a train's run starts with: which process on which machine runs it."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def previous_tag(alias: str, model: str | None = None) -> str:
    """The run tag naming the version `alias` pointed at before the run moved it: of the fit
    model, or of another model the same run registers (the timing model)."""
    tag = PREVIOUS_TAG.format(alias=alias)
    return tag if model is None else f"{tag}.{model}"


@dataclass(frozen=True)
class Here:
    """Where the check runs: this machine, this process, now, and how to probe a pid (True:
    gone, False: alive, None: cannot tell)."""

    host: str
    pid: int
    now_ms: int
    gone: Callable[[int], bool | None]


def why_dead(status: str, start_ms: int | None, tags: Mapping[str, str], here: Here) -> str | None:
    """Why the train of a run with this status, start time and tags is dead, in words; None
    when it is not RUNNING, is alive, or cannot be told to be dead."""
    if status != "RUNNING":
        return None
    pid, host = tags.get(PID_TAG, ""), tags.get(HOST_TAG)
    if pid.isdigit() and host == here.host:
        if int(pid) == here.pid:
            return None
        gone = here.gone(int(pid))
        if gone is not None:
            return f"its process {pid} on {host} is gone" if gone else None
    hours = (here.now_ms - start_ms) / 3_600_000 if start_ms else 0.0
    if hours <= STALE_HOURS:
        return None
    where = (
        f"on {host} (pid {pid or 'unknown'}), which cannot be checked from here"
        if host
        else "with no record of its process"
    )
    return f"RUNNING for {hours:.0f} hours {where}"


def alias_target(
    alias: str,
    run_tags: Mapping[str, str],
    version_tags: Mapping[str, str],
    model: str | None = None,
) -> tuple[str | None, str]:
    """The version `alias` named before the dead run moved it onto its version, or None to
    remove it, with the reason. The run's `icpfit.previous_<alias>` tag, else (for champion)
    the version's `previous_champion` tag, which icpfit wrote before run tags existed."""
    recorded = run_tags.get(previous_tag(alias, model))
    if recorded is None and alias == "champion" and model is None:
        recorded = version_tags.get("previous_champion")
    if recorded is None:
        return None, "no record of the version it named before"
    if recorded == NOT_SET:
        return None, "it named no version before that train"
    return recorded, ""


def recover_dead_trains(model_name: str, experiment: str | None = None) -> list[str]:
    """Clean up after every dead train of `model_name` (module docstring): the RUNNING runs of
    `experiment` and of the model's versions, with the versions of any other model the same
    run registered (the timing model). Logs and returns one line per run."""
    client = MlflowClient()
    here = Here(socket.gethostname(), os.getpid(), int(time.time() * 1000), _gone)
    dead = [
        (run, why)
        for run in _running(client, model_name, experiment)
        if (why := why_dead(run.info.status, run.info.start_time, run.data.tags, here))
    ]
    lines = []
    for run, why in sorted(dead, key=lambda found: found[0].info.start_time or 0, reverse=True):
        also = _other_models(client, model_name, run.info.run_id)
        others = [_undo_model(client, name, run, _tag_model(run, name)) for name in also]
        lines.append(_clean_up(client, model_name, run, why, [p for o in others for p in o]))
        _log.warning(lines[-1])
    return lines


def _tag_model(run: Run, name: str) -> str | None:
    """Whose previous-alias tags describe `name` in `run`: its own (`….<name>`, a model the
    run registered beside the fit, such as the timing model), else the fit model's."""
    own = [previous_tag(alias, name) for alias in ALIASES]
    return name if any(tag in run.data.tags for tag in own) else None


def _other_models(client: MlflowClient, name: str, run_id: str) -> list[str]:
    """The other registered models with a version from `run_id`, by name."""
    versions = client.search_model_versions(f"run_id='{run_id}'")
    return sorted({v.name for v in versions} - {name})


def _gone(pid: int) -> bool | None:
    return None if os.name == "nt" else not pid_alive(pid)


def _running(client: MlflowClient, name: str, experiment: str | None) -> list[Run]:
    found: dict[str, Run] = {}
    known = client.get_experiment_by_name(experiment) if experiment else None
    if known is not None:
        query = "attributes.status = 'RUNNING'"
        for run in client.search_runs([known.experiment_id], query, max_results=1000):
            found[run.info.run_id] = run
    run_ids = {v.run_id for v in client.search_model_versions(f"name='{name}'") if v.run_id}
    for run_id in sorted(run_ids - set(found)):
        try:
            run = client.get_run(run_id)
        except MlflowException:
            continue
        if run.info.status == "RUNNING":
            found[run_id] = run
    return list(found.values())


def _clean_up(
    client: MlflowClient, name: str, run: Run, why: str, others: list[str] | None = None
) -> str:
    """Aliases back, versions deleted, run FAILED, in that order; the line that says so."""
    run_id = run.info.run_id
    done = _undo_model(client, name, run, _tag_model(run, name))
    client.set_tag(run_id, RECOVERED_TAG, f"marked FAILED by a later icpfit: {why}")
    client.set_terminated(run_id, "FAILED")
    if not done:
        done = ["nothing was registered"]
    return (
        f"Cleaned up after a train that was killed ({why}): run {run_id} marked FAILED, "
        + ", ".join([*done, *(others or [])])
    )


def _undo_model(client: MlflowClient, name: str, run: Run, tag_model: str | None) -> list[str]:
    """The versions of `name` that `run` registered deleted and the aliases on them put back
    (`tag_model`: whose previous-alias tags to read; None for the fit model's)."""
    run_id = run.info.run_id
    versions = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    doomed = {str(v.version): v for v in sorted(versions, key=lambda v: int(v.version))}
    now = alias_versions(client, name)
    moved = [
        _put_back(
            client, name, alias, run.data.tags, doomed[now[alias]].tags, set(doomed), tag_model
        )
        for alias in ALIASES
        if now.get(alias) in doomed
    ]
    moved += _restore_retired(client, name, run.data.tags, set(doomed), now, tag_model)
    for version in doomed:
        _delete(client, name, version)
    return [*(f"{name} version {v} deleted" for v in doomed), *moved]


def _restore_retired(
    client: MlflowClient,
    name: str,
    run_tags: Mapping[str, str],
    doomed: set[str],
    now: Mapping[str, str],
    tag_model: str | None,
) -> list[str]:
    """The `challenger` the dead run removed when it made its own version champion (a stale
    one: `retire_challenger`) put back on the version its tag recorded, if that version is
    still there. Only then: a challenger removed since by someone else stays removed."""
    if "challenger" in now or now.get("champion") not in doomed:
        return []
    target, _ = alias_target("challenger", run_tags, {}, tag_model)
    if target is None or target in doomed or not _exists(client, name, target):
        return []
    client.set_registered_model_alias(name, "challenger", target)
    return [f"{name + ' ' if tag_model else ''}challenger back to version {target}"]


def _put_back(
    client: MlflowClient,
    name: str,
    alias: str,
    run_tags: Mapping[str, str],
    version_tags: Mapping[str, str],
    doomed: set[str],
    tag_model: str | None = None,
) -> str:
    target, reason = alias_target(alias, run_tags, version_tags, tag_model)
    if target is not None and (target in doomed or not _exists(client, name, target)):
        target, reason = None, f"version {target}, which it named before, is gone"
    if target is None:
        client.delete_registered_model_alias(name, alias)
        return f"{name} {alias} removed ({reason})" if tag_model else f"{alias} removed ({reason})"
    client.set_registered_model_alias(name, alias, target)
    prefix = f"{name} " if tag_model else ""
    return f"{prefix}{alias} back to version {target}"


def _exists(client: MlflowClient, name: str, version: str) -> bool:
    try:
        client.get_model_version(name, version)
    except MlflowException:
        return False
    return True


def _delete(client: MlflowClient, name: str, version: str) -> None:
    """Delete a version; one already gone (a concurrent cleanup got there first) is fine."""
    try:
        client.delete_model_version(name, version)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
