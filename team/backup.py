"""Back up the team server's PostgreSQL cluster and artifacts, and restore them into a new folder.

    python -m team.backup --dir .team-server --to backups/2026-10-01
    python -m team.backup --dir /srv/icpfit-team --restore backups/2026-10-01

A backup is a folder: mlflow.dump (pg_dump's custom format, a consistent snapshot taken while the
server runs) and artifacts/ (a copy of DIR/artifacts, made after the snapshot, so every run and
model version the snapshot names has its files). A restore makes a new cluster in DIR from it;
`python -m team.server --dir DIR` then serves it. For a server on --database-url or with its
artifacts in a bucket, back up that database and that bucket with their own tools instead.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from team import postgres
from team.server import local_cluster, say

DUMP = "mlflow.dump"


class BackupError(RuntimeError):
    """Nothing was written over; the message says why."""


def backup(folder: Path, target: Path) -> None:
    """The database of the server in `folder` (started for the dump if it is not running) and
    then its artifacts, into `target`, which must not exist yet."""
    if target.exists():
        raise BackupError(f"{target} exists already: a backup goes into a new folder")
    cluster = local_cluster(folder)
    if not (cluster.data / "PG_VERSION").is_file():
        raise BackupError(f"no team server in {folder} (no {cluster.data})")
    target.mkdir(parents=True)
    live = postgres.is_running(cluster)
    with nullcontext(cluster) if live else postgres.running(cluster):
        postgres.dump(cluster, target / DUMP)
    artifacts = folder / "artifacts"
    if artifacts.is_dir():
        shutil.copytree(artifacts, target / "artifacts")
    else:
        (target / "artifacts").mkdir()


def restore(source: Path, folder: Path) -> None:
    """A new cluster in `folder` holding the backup in `source`, and its artifacts."""
    cluster = local_cluster(folder)
    if (cluster.data / "PG_VERSION").is_file() or (folder / "artifacts").exists():
        raise BackupError(f"{folder} holds a team server already: restore into a new folder")
    if not (source / DUMP).is_file():
        raise BackupError(f"{source} is not a backup (no {DUMP})")
    with postgres.running(cluster):
        restored = ("-d", cluster.database, "--no-owner", str((source / DUMP).resolve()))
        postgres.run(cluster, "pg_restore", *cluster.client_args(), *restored)
    shutil.copytree(source / "artifacts", folder / "artifacts")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m team.backup", description="Back up or restore the team server."
    )
    parser.add_argument("--dir", type=Path, default=Path(".team-server"), help="server state")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--to", type=Path, help="a new folder to back up into")
    action.add_argument("--restore", type=Path, help="a backup folder to restore into --dir")
    args = parser.parse_args(argv)
    folder = args.dir.resolve()
    try:
        if args.to:
            backup(folder, args.to.resolve())
            say(f"Backed up {folder} to {args.to}")
        else:
            restore(args.restore.resolve(), folder)
            say(f"Restored {args.restore} into {folder}; serve it with:")
            say(f"python -m team.server --dir {folder}")
    except (postgres.PostgresError, BackupError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
