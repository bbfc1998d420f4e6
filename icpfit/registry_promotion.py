"""Moving `champion` by hand: `promote` and `rollback`. Each first cleans up after any train of
the model that was killed (`recover_dead_trains`), so it never starts from an alias left on an
orphan version."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from icpfit.registry_aliases import alias_versions, check_finished
from icpfit.registry_recovery import recover_dead_trains


def promote_version(name: str, version: str) -> str | None:
    """Make `version` the champion by hand; returns the previous champion's version. Refuses an
    orphan version: one whose run did not finish (a train that failed or was stopped). The
    versions its run registered of other models (the timing model) follow it (`pair_champions`)."""
    recover_dead_trains(name)
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


def pair_champions(name: str, version: str) -> list[str]:
    """Make champion every version that the run of `name` v`version` registered of another
    model (the timing model learned with this fit version): a queue pairs the two. Returns one
    line per alias moved."""
    client = MlflowClient()
    run_id = client.get_model_version(name, version).run_id
    lines = []
    for other in client.search_model_versions(f"run_id='{run_id}'") if run_id else []:
        if other.name == name:
            continue
        before = alias_versions(client, other.name).get("champion")
        if before == str(other.version):
            continue
        if before is not None:
            client.set_model_version_tag(other.name, other.version, "previous_champion", before)
        client.set_registered_model_alias(other.name, "champion", other.version)
        lines.append(
            f"{other.name} v{other.version}, registered with it, is champion "
            f"(was: {before or 'none'})"
        )
    return lines


def rollback_champion(name: str) -> tuple[str, str]:
    """Move `champion` back to the version it replaced, as recorded on the current champion.
    When champion was on the orphan of a killed train, the cleanup already moved it back: that
    is the rollback, not one more step back."""
    client = MlflowClient()
    before = alias_versions(client, name).get("champion")
    recover_dead_trains(name)
    after = alias_versions(client, name).get("champion")
    if before is not None and before != after:
        if after is None:
            raise MlflowException(
                f"{name} v{before} was the orphan of a killed train and is deleted; no champion "
                "was recorded before it: promote a version"
            )
        return before, after
    current = client.get_model_version_by_alias(name, "champion")
    previous = current.tags.get("previous_champion")
    if not previous:
        raise MlflowException(f"{name} v{current.version} has no recorded previous champion")
    check_finished(client, client.get_model_version(name, previous))
    client.set_registered_model_alias(name, "champion", previous)
    client.set_model_version_tag(name, current.version, "rolled_back", "true")
    return str(current.version), previous
