"""A PostgreSQL cluster of the team server's own: created once in a folder, started and stopped
with the server, backed up with pg_dump.

It listens on a Unix socket in its own folder and on no TCP port, so nothing else on the machine
can reach it and no port can clash; `mlflow server` is its only client. PostgreSQL refuses to run
as root: under root (CI, containers) the cluster belongs to the `postgres` system user that
Debian's `postgresql` package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SYSTEM_USER = "postgres"


class PostgresError(RuntimeError):
    """PostgreSQL could not be found, created or started; the message says what to do."""


@dataclass(frozen=True)
class Cluster:
    """A cluster in `root`: data/ (the database files), socket/ and server.log."""

    root: Path
    bindir: Path
    database: str = "mlflow"
    user: str = "mlflow"
    port: int = 5432
    """Names the socket file only (socket/.s.PGSQL.5432): the cluster opens no TCP port."""

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "socket"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self) -> str:
        """The SQLAlchemy URL `mlflow server --backend-store-uri` takes."""
        return (
            f"postgresql+psycopg2://{self.user}@/{self.database}"
            f"?host={self.socket}&port={self.port}"
        )

    def client_args(self) -> list[str]:
        """Connection options for psql, createdb, pg_dump and pg_restore."""
        return ["-h", str(self.socket), "-p", str(self.port), "-U", self.user]


def find_bindir() -> Path:
    """Where initdb and pg_ctl are: `pg_config --bindir`, else the newest Debian/Ubuntu
    /usr/lib/postgresql/<version>/bin, else the PATH (Homebrew, Postgres.app)."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(Path(found.stdout.strip()))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: _version(p.parent.name), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresError(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed; install them "
        "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql), or give "
        "an existing database with --database-url"
    )


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _owner() -> pwd.struct_passwd | None:
    """The system user the cluster runs as: `postgres` under root, else None (this user)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresError(
            f"PostgreSQL does not run as root and there is no '{SYSTEM_USER}' system user: run "
            "this as an ordinary user, or install Debian's postgresql package (it creates one)"
        ) from None


def run(cluster: Cluster, program: str, *args: str, as_owner: bool = False) -> str:
    """Run one of PostgreSQL's programs (as the cluster's owner if asked); its output, or a
    PostgresError with it."""
    owner = _owner() if as_owner else None
    ids = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []} if owner else {}
    done = subprocess.run(
        [str(cluster.bindir / program), *args],
        capture_output=True,
        text=True,
        cwd=cluster.root,
        **ids,
    )
    if done.returncode != 0:
        raise PostgresError(f"{program} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def create(cluster: Cluster) -> bool:
    """Make the cluster in `cluster.root` unless it is there already; True if it was made."""
    if (cluster.data / "PG_VERSION").is_file():
        return False
    for folder in (cluster.root, cluster.data, cluster.socket):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if owner := _owner():
            os.chown(folder, owner.pw_uid, owner.pw_gid)
    try:
        run(
            cluster,
            "initdb",
            *("-D", str(cluster.data), "-U", cluster.user, "-E", "UTF8", "--no-locale"),
            *("--auth-local=trust", "--auth-host=reject"),
            as_owner=True,
        )
    except PostgresError as exc:
        hint = (
            f"\nunder root the cluster belongs to '{SYSTEM_USER}', who must be able to enter "
            f"every folder above {cluster.root} (chmod o+x them, or choose another --dir)"
        )
        raise PostgresError(f"{exc}{hint if _owner() else ''}") from None
    return True


def start(cluster: Cluster) -> None:
    """Start the cluster on its socket (and no TCP port); waits until it accepts connections."""
    options = f"-c listen_addresses= -k {_quoted(cluster.socket)} -p {cluster.port}"
    args = ("start", "-w", "-t", "120", "-D", str(cluster.data), "-l", str(cluster.log))
    try:
        run(cluster, "pg_ctl", *args, "-o", options, as_owner=True)
    except PostgresError as exc:
        log = cluster.log.read_text(errors="replace")[-3000:] if cluster.log.exists() else ""
        raise PostgresError(f"{exc}\n{cluster.log}:\n{log}") from None


def _quoted(path: Path) -> str:
    """pg_ctl passes -o through /bin/sh."""
    return "'" + str(path).replace("'", "'\\''") + "'"


def stop(cluster: Cluster) -> None:
    """Fast shutdown: open transactions roll back, the data on disk stays consistent."""
    run(cluster, "pg_ctl", "stop", "-w", "-m", "fast", "-D", str(cluster.data), as_owner=True)


def is_running(cluster: Cluster) -> bool:
    if not (cluster.data / "PG_VERSION").is_file():
        return False
    try:
        run(cluster, "pg_ctl", "status", "-D", str(cluster.data), as_owner=True)
    except PostgresError:
        return False
    return True


def create_database(cluster: Cluster) -> None:
    """The server's database, if the cluster does not have it yet."""
    query = f"SELECT 1 FROM pg_database WHERE datname = '{cluster.database}'"
    found = run(cluster, "psql", *cluster.client_args(), "-d", "postgres", "-tAc", query)
    if not found.strip():
        run(cluster, "createdb", *cluster.client_args(), cluster.database)


@contextmanager
def running(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster created if needed, started with its database, and stopped afterwards."""
    if is_running(cluster):
        as_owner = f"runuser -u {SYSTEM_USER} -- " if _owner() else ""
        raise PostgresError(
            f"the PostgreSQL cluster in {cluster.data} is running already (a team server on "
            f"it, or one that was killed?); stop it with: "
            f"{as_owner}{cluster.bindir / 'pg_ctl'} stop -D {cluster.data}"
        )
    create(cluster)
    start(cluster)
    try:
        create_database(cluster)
        yield cluster
    finally:
        stop(cluster)


def dump(cluster: Cluster, target: Path) -> None:
    """A consistent snapshot of the server's database in pg_dump's custom format (read it back
    with pg_restore), taken while the server runs."""
    run(cluster, "pg_dump", *cluster.client_args(), "-Fc", "-f", str(target), cluster.database)
