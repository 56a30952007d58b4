"""Two app replicas behind nginx with sticky sessions; one is killed mid-conversation. Users on
the other see nothing; moved users are told their conversation was reset, then get right
answers; nothing crashes. Needs Debian's nginx (`.ci/run` installs it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scripts import load_script

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                                 reason="nginx is not installed (Debian: apt-get install nginx)")]

USERS = 16
FIRST = "Krijg ik mijn reiskosten vergoed als stagiair?"
FOLLOW = "En geldt dat ook voor duale studenten?"


def test_killing_a_replica_mid_conversation(index_dir: str, assistant) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import Client

    with load_script("deploy/replicas.py").Cluster(2, index_dir=index_dir) as cluster:
        users = [Client(cluster.url, verbose=False, httpx_kwargs={"timeout": 60}) for _ in range(USERS)]
        assert all(u.cookies.get("stagecode_route") for u in users)  # nginx made each session sticky
        for u in users:
            first = u.predict(FIRST, "student", "auto", True, api_name="/chat")
            assert first["citations"][0]["id"] == "3B.vd.4"
        cluster.kill(0)
        stayed, moved = 0, 0
        for u in users:  # each one's next question leans on the first
            follow = u.predict(FOLLOW, "student", "auto", False, api_name="/chat")
            if follow["resolved_question"]:  # its conversation was there: it never noticed
                stayed += 1
                assert "opnieuw zijn begonnen" not in follow["answer"]
            else:  # moved to the other replica: told so, clearly
                moved += 1
                assert follow["answer"].startswith("Ik zie geen eerdere vraag in dit gesprek")
            again = u.predict(FIRST, "student", "auto", False, api_name="/chat")
            assert again["citations"][0]["id"] == "3B.vd.4" and not again["answer"].startswith("Ik zie geen")
        assert stayed and moved, (stayed, moved)  # 16 random cookies all on one side: 2 in 65,536
        assert cluster.apps[1].poll() is None and cluster.nginx.poll() is None  # nothing crashed
