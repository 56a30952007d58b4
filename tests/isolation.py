"""Runs tests/isolated_session.py once per test run, cut off from the network and in a private
file tree, for tests/test_network.py and tests/test_privacy.py.

Cut off three ways, as far as this machine allows: in a network namespace of its own
(`unshare -n`, as root), under `strace` recording every connect/sendto/sendmsg system call
(including those of native code, e.g. Chroma's Rust core), and with an audit hook inside that
records and refuses any resolve or connect to a non-loopback host.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "isolated_session.py"
CANARY = "192.0.2.1"  # the address isolated_session.py tries on purpose, to prove the recorders


@dataclass
class Session:
    """What the isolated session did."""

    tree: Path  # HOME, TMPDIR, GRADIO_TEMP_DIR, the index, the working directory: all in here
    marker: str  # in every question asked
    started: float
    returncode: int
    stdout: str
    stderr: str
    result: dict
    netns: bool  # ran in a network namespace without network
    strace: bool  # system calls were recorded
    syscalls: list[str] = field(default_factory=list)  # non-loopback connects seen by strace
    canary_syscalls: list[str] = field(default_factory=list)  # the deliberate one (see CANARY)
    seconds: float = 0.0


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


_INET = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\),.*?inet_pton\(AF_INET6, "([^"]+)"')


def _non_local_syscalls(trace: str) -> list[str]:
    """strace lines that address an IPv4/IPv6 host other than loopback or unspecified."""
    sys.path.insert(0, str(CHILD.parent))
    from isolated_session import is_local

    out = []
    for line in trace.splitlines():
        for m in (*_INET.finditer(line), *_INET6.finditer(line)):
            if not is_local(m.group(2)):
                out.append(line.strip()[:300])
    return out


@functools.cache
def isolated_session() -> Session:
    """Run the session (about 30–60 s: it builds an index with the real model); cached."""
    tree = Path(tempfile.mkdtemp(prefix="stagecode-isolated-"))
    atexit.register(shutil.rmtree, tree, ignore_errors=True)
    dirs = {name: tree / name for name in ("home", "tmp", "gradio", "index", "cwd", "cache", "config")}
    for d in dirs.values():
        d.mkdir()
    marker = f"zqmark{uuid.uuid4().hex[:16]}"
    # a bare environment: the telemetry switches must come from the code, not from this test run
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
        "HOME": str(dirs["home"]), "TMPDIR": str(dirs["tmp"]), "GRADIO_TEMP_DIR": str(dirs["gradio"]),
        "STAGECODE_INDEX_DIR": str(dirs["index"]), "XDG_CACHE_HOME": str(dirs["cache"]),
        "XDG_CONFIG_HOME": str(dirs["config"]), "MPLCONFIGDIR": str(dirs["config"] / "mpl"),
        "PYTHONPATH": str(ROOT), "STAGECODE_TEST_MARKER": marker,
    }
    out_file = tree / "result.json"
    cmd = [sys.executable, str(CHILD), str(out_file)]
    strace = bool(shutil.which("strace")) and _works(["strace", "-f", "-qq", "-o", "/dev/null", "true"])
    trace_file = Path(tempfile.mkdtemp(prefix="stagecode-strace-")) / "strace.txt"  # not in the tree
    atexit.register(shutil.rmtree, trace_file.parent, ignore_errors=True)
    if strace:
        cmd = ["strace", "-f", "-qq", "-s", "0", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg", "-e",
               "signal=none", "-o", str(trace_file), *cmd]
    netns = os.geteuid() == 0 and bool(shutil.which("unshare")) and _works(["unshare", "-n", "true"])
    if netns:
        cmd = ["unshare", "-n", *cmd]
        env["STAGECODE_TEST_NETNS"] = "1"
    started = time.time() - 1.0  # file times have coarse resolution on some file systems
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=dirs["cwd"], env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    result = json.loads(out_file.read_text()) if out_file.exists() else {}
    seen = _non_local_syscalls(trace_file.read_text(errors="replace")) if trace_file.exists() else []
    canary = [line for line in seen if f'"{CANARY}"' in line]
    return Session(tree, marker, started, proc.returncode, proc.stdout, proc.stderr, result, netns,
                   strace, [line for line in seen if line not in canary], canary, seconds)
