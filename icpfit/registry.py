"""The MLflow registry and tracking store: the only place that talks to them (DESIGN §7).

It logs a retrain's run and model, registers the version and moves its alias, resolves and loads
a version (with the evidence its run logged, for comparisons), and promotes or rolls back.
Aliases move last: a retrain that fails at any step, or is stopped by SIGINT or SIGTERM, leaves
`champion` and `challenger` where they were, deletes the version it registered and marks its run
FAILED; what a train killed outright leaves behind, the next train, promote or rollback cleans
up; trains on one SQLite or file store wait for each other (`train_lock`). Each version records
the SHA-256 of its model's files as tags, and `load_model` checks them before its code runs.

This module is the one import point; the work is split by concern:

| module                       | what                                                          |
| ---------------------------- | ------------------------------------------------------------- |
| `icpfit.registry_store`      | the tracking URI, the train lock                              |
| `icpfit.registry_load`       | resolving a URI, loading a verified version and its evidence  |
| `icpfit.registry_log`        | a retrain's run, its registration and its alias               |
| `icpfit.registry_model`      | the logged pyfunc, its signature, its files' digests          |
| `icpfit.registry_aliases`    | aliases, undoing a failed retrain, refusing orphans           |
| `icpfit.registry_recovery`   | cleaning up after a train that was killed                     |
| `icpfit.registry_promotion`  | promote and rollback (the timing model follows its fit model) |
| `icpfit.registry_timing`     | the timing model: its run's params and metrics, its version   |

All of them log to the `icpfit.registry` logger.
"""

from __future__ import annotations

from icpfit.registry_aliases import (
    ALIASES,
    alias_versions,
    check_finished,
    restore_aliases,
    undo_registration,
)
from icpfit.registry_load import (
    URI,
    LoadedModel,
    ModelNotFound,
    UnverifiedModel,
    load_champion,
    load_comparable,
    load_model,
    refusal,
    resolve_model,
    verified_copy,
)
from icpfit.registry_log import HEADLINE, RegisteredVersion, log_and_register, table_hash
from icpfit.registry_model import raw_cells, with_nulls
from icpfit.registry_promotion import pair_champions, promote_version, rollback_champion
from icpfit.registry_recovery import STALE_HOURS, process_tags, recover_dead_trains
from icpfit.registry_store import tracking, tracking_uri, train_lock

__all__ = [
    "ALIASES",
    "HEADLINE",
    "STALE_HOURS",
    "URI",
    "LoadedModel",
    "ModelNotFound",
    "RegisteredVersion",
    "UnverifiedModel",
    "alias_versions",
    "check_finished",
    "load_champion",
    "load_comparable",
    "load_model",
    "log_and_register",
    "pair_champions",
    "process_tags",
    "promote_version",
    "raw_cells",
    "recover_dead_trains",
    "refusal",
    "resolve_model",
    "restore_aliases",
    "rollback_champion",
    "table_hash",
    "tracking",
    "tracking_uri",
    "train_lock",
    "undo_registration",
    "verified_copy",
    "with_nulls",
]
