"""Run N stagecode app processes and nginx in front of them, all on loopback, until stopped.

    .venv/bin/python deploy/replicas.py [--replicas 2] [--port 8080]

Each replica is the ordinary app (`stagecode serve`) on its own port, sharing one read-only
index (built once, before the replicas start). nginx (Debian's package; `apt-get install nginx`)
balances them with sticky sessions (deploy/nginx.conf.template). Ctrl-C stops everything.
`tests/test_replicas.py` uses `Cluster` to kill a replica mid-conversation.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    """Until something listens on 127.0.0.1:port, or the process has died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {seconds:.0f} s")


class Cluster:
    """N replicas and nginx; `url` is the balanced address; `kill(i)` ends replica i at once."""

    def __init__(self, replicas: int = 2, port: int | None = None, index_dir: str | None = None) -> None:
        self.nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(self.nginx_bin).exists():
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        self.port = port or free_port()
        self.ports = [free_port() for _ in range(replicas)]
        self.dir = Path(tempfile.mkdtemp(prefix="stagecode-replicas-"))
        self.env = os.environ | {"PYTHONPATH": str(ROOT)} | ({"STAGECODE_INDEX_DIR": index_dir} if index_dir else {})
        self.apps: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> Cluster:
        subprocess.run([sys.executable, "-m", "assistant.cli", "index"], env=self.env, cwd=ROOT, check=True,
                       capture_output=True)  # one build, before any replica opens the index
        for p in self.ports:
            self.apps.append(subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "serve", "--port", str(p)], env=self.env, cwd=ROOT,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for p, app in zip(self.ports, self.apps, strict=True):
            wait_for(p, app)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.dir / sub).mkdir()
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in self.ports)
        conf = TEMPLATE.read_text(encoding="utf-8").format(
            prefix=self.dir, listen=f"127.0.0.1:{self.port}", servers=servers)
        (self.dir / "nginx.conf").write_text(conf, encoding="utf-8")
        self.nginx = subprocess.Popen([self.nginx_bin, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(self.port, self.nginx, 30)
        except RuntimeError as exc:
            err = self.nginx.stderr.read().decode(errors="replace") if self.nginx.stderr else ""
            raise RuntimeError(f"{exc}: {err.strip()[-500:]}") from None
        return self

    def kill(self, i: int) -> None:
        self.apps[i].send_signal(signal.SIGKILL)
        self.apps[i].wait(timeout=30)

    def stop(self) -> None:
        procs = [p for p in [self.nginx, *self.apps] if p is not None]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()  # no replica is left running when nginx or one of them fails to start
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    with Cluster(args.replicas, args.port) as cluster:
        print(f"{args.replicas} replicas on ports {cluster.ports}; nginx at {cluster.url} (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
