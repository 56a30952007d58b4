"""A wheel built from the repo answers and evaluates in a fresh venv outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_wheel_answers_and_evaluates_without_the_source_tree(tmp_path: Path) -> None:
    """The venv gets only the wheel; the heavy dependencies come from this venv's site-packages
    through a path entry (not its .pth files, so the editable install of the checkout stays out)."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("stagecode_assistant-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAGECODE_", "PYTHON"))}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}

    where = subprocess.run([str(py), "-c", "import assistant; print(assistant.__file__)"], cwd=work, env=env,
                           check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(site)), where  # the installed copy, not the checkout
    ask = subprocess.run([str(venv / "bin" / "stagecode"), "ask", "Krijg ik mijn reiskosten vergoed?", "--json"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert ask.returncode == 0, ask.stderr[-2000:]
    assert json.loads(ask.stdout)["citations"][0]["id"] == "3B.vd.4"
    assert (tmp_path / "cache" / "stagecode" / "index" / "chroma").is_dir()  # the user's cache, not site-packages
    # the shipped model fits the wheel's bank (safety route passes included): nothing was trained
    assert not list((tmp_path / "cache" / "stagecode" / "index").glob("learned-*"))

    ev = subprocess.run([str(venv / "bin" / "stagecode"), "eval", "--quick"], cwd=work, env=env,
                        capture_output=True, text=True, timeout=900)
    assert ev.returncode == 0, ev.stderr[-2000:]
    report = (work / "stagecode-eval" / "report.md").read_text(encoding="utf-8")
    assert "| real | 252 |" in report
