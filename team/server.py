"""A team's MLflow tracking server: PostgreSQL as the backend store, artifacts proxied.

    python -m team.server [--dir .team-server] [--host 127.0.0.1] [--port 5000] [--workers 2]
                          [--database-url URL] [--artifacts-destination URI]
                          [-- more `mlflow server` options]

Without --database-url (or ICPFIT_TEAM_DATABASE_URL) it creates a PostgreSQL cluster of its own
in DIR/postgres the first time, and starts and stops it with the server. Artifacts go to
DIR/artifacts unless --artifacts-destination names another place (s3://bucket/mlflow); either
way clients send and fetch them through the server and need no storage credentials. It prints
the MLFLOW_TRACKING_URI to use, then runs until Ctrl-C or SIGTERM, which stop both servers.
`make team-server` runs it; `python -m team.backup` backs it up while it runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from team import postgres

DATABASE_URL_ENV = "ICPFIT_TEAM_DATABASE_URL"
JOBS_ENV = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"
STARTUP_SECONDS = 180
"""Room for a first start, when MLflow creates its tables in an empty database."""


class ServerError(RuntimeError):
    """`mlflow server` did not come up; the message ends with its log."""


@dataclass(frozen=True)
class Server:
    url: str
    """What clients on this machine set MLFLOW_TRACKING_URI to."""
    process: subprocess.Popen


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def local_cluster(folder: Path) -> postgres.Cluster:
    """The PostgreSQL cluster the server keeps in `folder`/postgres."""
    return postgres.Cluster(folder.resolve() / "postgres", postgres.find_bindir())


def local_host(host: str) -> str:
    """The address to call the server at on this machine (a wildcard address is not one)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def client_url(host: str, port: int) -> str:
    return f"http://{local_host(host)}:{port}"


@contextmanager
def mlflow_server(
    backend_uri: str,
    artifacts: str,
    *,
    host: str,
    port: int,
    log: Path,
    workers: int = 2,
    extra: Sequence[str] = (),
) -> Iterator[Server]:
    """`mlflow server` on `backend_uri`, proxying artifacts to `artifacts`, its output in `log`;
    yields it once /health answers, and stops it afterwards."""
    command = [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port)]
    command += ["--serve-artifacts", "--artifacts-destination", artifacts]
    command += ["--workers", str(workers), *extra]
    env = {
        **os.environ,
        # `mlflow server --backend-store-uri`, kept out of the command line `ps` shows to all
        "MLFLOW_BACKEND_STORE_URI": backend_uri,
        # icpfit uses none of MLflow's server-side jobs (GenAI evaluation, prompt
        # optimisation); without them the server starts no job runner and its worker processes
        JOBS_ENV: os.environ.get(JOBS_ENV, "false"),
    }
    url = client_url(host, port)
    if _taken(host, port):
        raise ServerError(f"something already listens on {url}: choose another --port")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, cwd=log.parent, env=env)
    try:
        server = Server(url, process)
        _wait_healthy(server, log)
        yield server
    finally:
        process.terminate()  # `mlflow server` forwards it to uvicorn
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _taken(host: str, port: int) -> bool:
    """Whether another server is on `port` already (its /health would pass for ours)."""
    try:
        socket.create_connection((local_host(host), port), timeout=1).close()
    except OSError:
        return False
    return True


def _wait_healthy(server: Server, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise ServerError(f"mlflow server exited ({code}); {log}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise ServerError(
        f"mlflow server did not answer {server.url}/health in {STARTUP_SECONDS} s; "
        f"{log}:\n{_tail(log)}"
    )


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Options before `--` are ours; the rest go to `mlflow server` as they are."""
    parser = argparse.ArgumentParser(
        prog="python -m team.server",
        description="An MLflow tracking server for a team: PostgreSQL backend, proxied artifacts.",
        epilog="Options after -- go to `mlflow server`, e.g. -- --allowed-hosts mlflow.internal",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(".team-server"),
        help="its folder: postgres/, artifacts/, mlflow.log (default .team-server)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 serves the network")
    parser.add_argument("--port", type=int, default=5000, help="default 5000")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(DATABASE_URL_ENV),
        help="an existing PostgreSQL database (postgresql+psycopg2://user:password@host/db); "
        f"default ${DATABASE_URL_ENV}, else a cluster of its own in DIR/postgres",
    )
    parser.add_argument("--artifacts-destination", help="default DIR/artifacts")
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.extra = list(argv[cut + 1 :])
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    folder = args.dir.resolve()
    artifacts = args.artifacts_destination or str(folder / "artifacts")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ExitStack() as stack:
            if args.database_url:
                backend, store = args.database_url, "the PostgreSQL database at --database-url"
            else:
                cluster = stack.enter_context(postgres.running(local_cluster(folder)))
                backend, store = cluster.url(), f"PostgreSQL, files in {cluster.data}"
            server = stack.enter_context(
                mlflow_server(
                    backend,
                    artifacts,
                    host=args.host,
                    port=args.port,
                    log=folder / "mlflow.log",
                    workers=args.workers,
                    extra=args.extra,
                )
            )
            _announce(server, args, store, artifacts, folder)
            code = server.process.wait()  # returns only if it dies: Ctrl-C and SIGTERM raise
            sys.stderr.write(f"error: mlflow server stopped ({code}); see {folder}/mlflow.log\n")
            return code or 1
    except KeyboardInterrupt:
        say("Stopped.")
        return 0
    except (postgres.PostgresError, ServerError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1


def _interrupt(signum, frame):
    """SIGTERM (systemd, a test's teardown) stops both servers, like Ctrl-C."""
    raise KeyboardInterrupt


def _announce(server: Server, args: argparse.Namespace, store: str, artifacts: str, folder: Path):
    say(f"MLflow team server at {server.url}")
    say(f"  runs, models, aliases: {store}")
    say(f"  artifacts (proxied):   {artifacts}")
    say(f"  server log:            {folder / 'mlflow.log'}")
    if args.host in ("0.0.0.0", "::"):
        say(f"  from other machines:   http://{socket.getfqdn()}:{args.port}")
    say("Point icpfit at it (the same in every shell, job and notebook that trains or scores):")
    say(f"export MLFLOW_TRACKING_URI={server.url}")
    say("Ctrl-C stops it.")


if __name__ == "__main__":
    sys.exit(main())
