"""The aliases `champion` and `challenger`: where they point, putting them back after a failed
or stopped retrain (`undo_registration`), and the check that refuses an orphan version."""

from __future__ import annotations

import logging

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from icpfit.registry_descriptions import model_description, with_standing

ALIASES = ("champion", "challenger")

_log = logging.getLogger("icpfit.registry")


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
        done.extend(restore_aliases(client, name, aliases))
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


def restore_aliases(client: MlflowClient, name: str, aliases: dict[str, str]) -> list[str]:
    """`champion` and `challenger` set as in `aliases` (one absent there is removed); what
    moved, in words."""
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


def set_standing(client: MlflowClient, name: str, version: str, standing: str) -> None:
    """The last paragraph of the version's description: where it stands now, since when."""
    current = client.get_model_version(name, version).description
    client.update_model_version(name, version, description=with_standing(current, standing))


def stale_challenger(client: MlflowClient, name: str, champion: str) -> str | None:
    """The version `challenger` names when `champion` makes it stale: the champion itself, or
    an older version (it lost to the incumbent, which a newer one has now replaced)."""
    challenger = alias_versions(client, name).get("challenger")
    if challenger is None or int(challenger) > int(champion):
        return None
    return challenger


def retire_challenger(client: MlflowClient, name: str, champion: str, when: str) -> list[Standing]:
    """Remove a stale `challenger` (`stale_challenger`); returns what its description should
    now say (the caller writes it: a retrain only once nothing can fail any more)."""
    challenger = stale_challenger(client, name, champion)
    if challenger is None:
        return []
    client.delete_registered_model_alias(name, "challenger")
    if challenger == champion:
        return []
    return [(name, challenger, f"challenger until {when}, when v{champion} became champion")]


Standing = tuple[str, str, str]
"""(model, version, what its description's standing paragraph should say)."""


def write_standings(client: MlflowClient, standings: list[Standing]) -> None:
    for name, version, standing in standings:
        set_standing(client, name, version, standing)


def describe_model(client: MlflowClient, name: str, kind: str) -> None:
    """The registered model's description, unless someone wrote their own there."""
    current = client.get_registered_model(name).description
    wanted = model_description(kind, name)
    if current != wanted and (not current or current.startswith("icpfit's ")):
        client.update_registered_model(name, description=wanted)
