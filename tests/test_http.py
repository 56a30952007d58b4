"""The app's HTTP edge (bounded bodies, security headers) and the idle-session sweep, without a server."""

from __future__ import annotations

import asyncio
import time

from assistant.ui.http import MAX_BODY, Hardened
from assistant.ui.sessions import Sessions


async def _echo(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def _call(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> list[dict]:
    sent: list[dict] = []
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict:
        return pending.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": headers}
    asyncio.run(Hardened(_echo)(scope, receive, send))
    return sent


def test_a_small_body_passes_with_security_headers() -> None:
    start, body = _call([(b"content-length", b"5")], [b"hello"])
    assert start["status"] == 200 and body["body"] == b"hello"
    names = {n for n, _ in start["headers"]}
    assert {b"content-security-policy", b"x-frame-options", b"x-content-type-options"} <= names


def test_a_declared_or_streamed_body_over_the_limit_is_refused() -> None:
    assert _call([(b"content-length", str(MAX_BODY + 1).encode())], [b""])[0]["status"] == 413
    assert _call([(b"content-length", b"12abc")], [b""])[0]["status"] == 413
    streamed = _call([], [b"x" * 40_000, b"x" * 40_000])  # no length given: counted while read
    assert streamed[0]["status"] == 413
    fine = _call([], [b"x" * 1000, b"y" * 1000])
    assert fine[0]["status"] == 200 and fine[1]["body"] == b"x" * 1000 + b"y" * 1000


def test_a_session_the_server_does_not_hold_is_continued_as_lost() -> None:
    """A caller continuing a session this server no longer holds (restarted, expired) gets a
    conversation marked lost, so a follow-up is told its context is gone; a new one is not."""
    sessions = Sessions()
    assert sessions.get("gone").lost and not sessions.get("fresh", new=True).lost
    sessions.get("kept").turns.append(object())  # type: ignore[arg-type]
    assert sessions.get("kept").turns


def test_idle_sessions_are_swept_without_a_later_call() -> None:
    sessions = Sessions(ttl=0.05)
    sessions.get("a").turns.append(object())  # type: ignore[arg-type]
    assert len(sessions) == 1
    time.sleep(0.1)
    sessions.sweep()
    assert len(sessions) == 0
