"""Moving `champion` by hand: `promote` and `rollback`. Each first cleans up after any train of
the model that was killed (`recover_dead_trains`), so it never starts from an alias left on an
orphan version."""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from icpfit.registry_aliases import (
    Standing,
    alias_versions,
    check_finished,
    retire_challenger,
    set_standing,
    stale_challenger,
    write_standings,
)
from icpfit.registry_descriptions import move_tags, today, who
from icpfit.registry_recovery import previous_tag, recover_dead_trains


def move_alias(
    client: MlflowClient, name: str, version: str, alias: str, when: str, own_tags: bool = False
) -> list[Standing]:
    """A retrain's last step: `alias` onto `version`. When it is `champion`, a stale
    `challenger` (`stale_challenger`) loses its alias, recorded first on the active run
    (`own_tags`: under this model's name, as the timing model's are) so that the cleanup after
    a kill -9 can put it back. Returns what the descriptions of the version it replaced and of
    the retired challenger should now say: the retrain writes them once it can no longer fail
    (a failed one puts the aliases back, and would leave those words wrong)."""
    previous = alias_versions(client, name).get("champion")
    stale = stale_challenger(client, name, version) if alias == "champion" else None
    if stale is not None:
        mlflow.set_tag(previous_tag("challenger", name if own_tags else None), stale)
    if alias == "champion" and previous is not None and previous != version:
        client.set_model_version_tag(name, version, "previous_champion", previous)
    client.set_registered_model_alias(name, alias, version)
    if alias != "champion":
        return []
    replaced = (
        [(name, previous, f"champion until {when}, replaced by v{version}")]
        if previous is not None and previous != version
        else []
    )
    return replaced + retire_challenger(client, name, version, when)


def promote_version(name: str, version: str, reason: str = "") -> str | None:
    """Make `version` the champion by hand; returns the previous champion's version. Refuses an
    orphan version: one whose run did not finish (a train that failed or was stopped). Who
    promoted it, when and why are tagged on it; both versions' descriptions say where they
    stand; a stale `challenger` loses its alias. The versions its run registered of other
    models (the timing model) follow it (`pair_champions`)."""
    recover_dead_trains(name)
    client = MlflowClient()
    check_finished(client, client.get_model_version(name, version))
    previous = alias_versions(client, name).get("champion")
    if previous is not None and previous != str(version):
        client.set_model_version_tag(name, version, "previous_champion", previous)
    client.set_model_version_tag(name, version, "decision", "champion")
    for key, value in move_tags("promoted", reason).items():
        client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, "champion", version)
    by = f"promoted by {who()}" + (f": {reason}" if reason else "")
    when = today()
    set_standing(client, name, str(version), f"champion since {when} ({by})")
    if previous is not None and previous != str(version):
        set_standing(
            client, name, previous, f"champion until {when}, replaced by v{version} ({by})"
        )
    write_standings(client, retire_challenger(client, name, str(version), when))
    return previous


def pair_champions(name: str, version: str, reason: str = "") -> list[str]:
    """Make champion every version that the run of `name` v`version` registered of another
    model (the timing model learned with this fit version): a queue pairs the two. Returns one
    line per alias moved, and one for a run that registered no other model: the other
    models' champions then stay where they are, which the user must hear."""
    client = MlflowClient()
    run_id = client.get_model_version(name, version).run_id
    others = [
        other
        for other in (client.search_model_versions(f"run_id='{run_id}'") if run_id else [])
        if other.name != name
    ]
    if not others:
        return [f"{name} v{version}'s run registered no timing model: {NO_PAIR}"] * _paired(name)
    lines, when = [], today()
    for other in others:
        before = alias_versions(client, other.name).get("champion")
        if before == str(other.version):
            continue
        if before is not None:
            client.set_model_version_tag(other.name, other.version, "previous_champion", before)
        for key, value in move_tags("paired", reason or f"follows {name} v{version}").items():
            client.set_model_version_tag(other.name, other.version, key, value)
        client.set_registered_model_alias(other.name, "champion", other.version)
        standing = f"champion since {when}, paired with {name} v{version} by {who()}"
        set_standing(client, other.name, str(other.version), standing)
        if before is not None:
            replaced = f"champion until {when}, replaced by v{other.version}"
            set_standing(client, other.name, before, replaced)
        write_standings(client, retire_challenger(client, other.name, str(other.version), when))
        lines.append(
            f"{other.name} v{other.version}, registered with it, is champion "
            f"(was: {before or 'none'})"
        )
    return lines


NO_PAIR = "the timing model's champion stays where it is, learned with another fit version"


def _paired(name: str) -> bool:
    """Whether any timing version was trained with a version of `name` (its `fit_model` tag)."""
    try:
        return bool(
            MlflowClient().search_model_versions(f"tags.fit_model LIKE '{name}/%'", max_results=1)
        )
    except MlflowException:
        return True  # cannot tell: say it


def rollback_champion(name: str, reason: str = "") -> tuple[str, str]:
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
    for key, value in move_tags("rolled_back", reason).items():
        client.set_model_version_tag(name, current.version, key, value)
    by = f"rolled back by {who()}" + (f": {reason}" if reason else "")
    when = today()
    set_standing(client, name, str(current.version), f"champion until {when} ({by})")
    set_standing(client, name, previous, f"champion again since {when} ({by})")
    if alias_versions(client, name).get("challenger") == previous:
        client.delete_registered_model_alias(name, "challenger")
    return str(current.version), previous
