"""No network: building the index, answering, and starting and using the app never
try to reach another host. Runs one isolated session (tests/isolation.py) in a network
namespace without network, recorded by an audit hook and, where available, strace.
"""

from __future__ import annotations

import errno

import pytest


@pytest.mark.slow
def test_the_session_really_built_answered_and_served(session) -> None:  # type: ignore[no-untyped-def]
    checks = session.result["checks"]
    assert checks["ask"] == ["3B.vd.4"] and checks["follow_up_resolved"] and checks["cli"] == 0
    assert checks["page"] == 200 and checks["api_ask"] == ["3B.vd.4"] and checks["api_chat_follow_up"]
    assert checks["ui_chat"] == [2, 4] and checks["ui_cites"]
    assert len(checks["api_errors"]) == 3


@pytest.mark.slow
def test_the_http_edge_bounds_bodies_refuses_uploads_and_sets_security_headers(session) -> None:  # type: ignore[no-untyped-def]
    checks = session.result["checks"]
    assert checks["big_body"] == 413
    assert checks["upload"] >= 400  # the app takes no uploads
    headers = checks["headers"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert checks["rest"] and all(s < 500 for s in checks["rest"]), checks["rest"]


@pytest.mark.slow
def test_nothing_tried_to_reach_another_host(session) -> None:  # type: ignore[no-untyped-def]
    assert session.result["refused"] == [], "Python code tried to resolve or reach another host"
    assert session.syscalls == [], "a system call addressed another host"


@pytest.mark.slow
def test_the_recorders_would_have_noticed(session) -> None:  # type: ignore[no-untyped-def]
    canaries = session.result["checks"]["canaries"]
    assert canaries["audit_refused"] is True
    if session.netns:
        assert canaries["native_errno"] == errno.ENETUNREACH
    if session.strace:
        assert session.canary_syscalls, "strace did not see the deliberate connect"
    print(f"isolation: netns={session.netns} strace={session.strace} ({session.seconds:.0f} s)")


def test_telemetry_is_off_in_code_not_just_in_run() -> None:
    """The switches ./run exports are also set by the modules themselves."""
    import os
    import subprocess
    import sys

    code = (
        "import os\n"
        "import assistant.search.index, assistant.ui.app as ui\n"
        "ui._quiet_environment()\n"
        "print(os.environ.get('ANONYMIZED_TELEMETRY'), os.environ.get('GRADIO_ANALYTICS_ENABLED'),"
        " os.environ.get('HF_HUB_OFFLINE'), os.environ.get('HF_HUB_DISABLE_TELEMETRY'))\n"
    )
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    out = subprocess.run([sys.executable, "-c", code], env=keep, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False", "1", "1"], out.stderr[-2000:]
