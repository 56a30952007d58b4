"""A whole session in one process, for tests/test_network.py and tests/test_privacy.py.

Run as a script (never imported by pytest): builds an index with the default model, asks
questions through `Assistant.ask` and the CLI, starts the app on 127.0.0.1 and uses it through
gradio_client (`/ask`, `/chat`) and through the chat UI's own event (as a browser does). Every
question carries the marker in STAGECODE_TEST_MARKER.

Before anything else it installs an audit hook that records — and refuses — every attempt to
resolve or reach a host other than loopback, and records every file opened for writing. It
writes {"refused": [...], "writes": [...], "checks": {...}} to the JSON file named by argv[1].
With STAGECODE_TEST_NETNS=1 it first brings up loopback (it runs in `unshare -n`).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import sys

REFUSED: list[list[str]] = []
WRITES: set[str] = set()
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_local(host: object) -> bool:
    """Loopback or unspecified addresses, and the names of loopback."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in LOCAL_NAMES or host == "":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name would need a resolver, i.e. the network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _hook(event: str, args: tuple) -> None:
    if event == "open":
        path, mode, flags = args
        if isinstance(path, str | bytes) and (
            (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & _WRITE_FLAGS
        ):
            WRITES.add(os.fsdecode(path))
        return
    if not event.startswith("socket."):
        return
    host: object = None
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6) or address is None:
            return  # Unix sockets and netlink are local
        host = address[0] if isinstance(address, tuple) else address
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                   "socket.getnameinfo"):
        first = args[0]
        host = first[0] if isinstance(first, tuple) else first
    else:
        return
    if not is_local(host):
        REFUSED.append([event, str(host)])
        raise OSError(errno.ENETUNREACH, f"test: no network (refused {event} to {host})")


sys.addaudithook(_hook)


def _loopback_up() -> None:
    """In a fresh network namespace loopback is down: bring it up (SIOCSIFFLAGS)."""
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = 0x1 | 0x8 | 0x40  # IFF_UP | IFF_LOOPBACK | IFF_RUNNING
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags, b"\0" * 14))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ui_chat(base: str, questions: list[str]) -> list[list[dict]]:
    """Ask through the chat UI's own event over HTTP, as the browser does; one session."""
    import uuid

    import httpx

    cfg = httpx.get(base + "/config", timeout=30).json()
    ask = next(c["id"] for c in cfg["components"] if c.get("props", {}).get("elem_id") == "ask")
    dep = next(d for d in cfg["dependencies"] if [ask, "click"] in [list(t) for t in d["targets"]])
    session, history, out = uuid.uuid4().hex, [], []
    for q in questions:
        body = {"data": [q, "student", "auto", history, None, "en"], "fn_index": dep["id"],
                "session_hash": session, "event_data": None, "trigger_id": ask}
        httpx.post(base + "/gradio_api/queue/join", json=body, timeout=30).raise_for_status()
        with httpx.stream("GET", base + "/gradio_api/queue/data", params={"session_hash": session},
                          timeout=60) as stream:
            for line in stream.iter_lines():
                msg = json.loads(line[5:]) if line.startswith("data:") else {}
                if msg.get("msg") == "process_completed":
                    history = msg["output"]["data"][0]
                    break
        out.append(history)
    return out


CANARY = "192.0.2.1"  # TEST-NET-1: never a real host


def _canaries() -> dict[str, object]:
    """Show the recorders work: one connect through Python (the audit hook must refuse it) and
    one through libc directly, as native code would (strace must see it; a namespace without
    network must fail it with ENETUNREACH)."""
    import ctypes
    import struct

    out: dict[str, object] = {}
    before = len(REFUSED)
    try:
        socket.create_connection((CANARY, 9), timeout=2).close()
        out["audit_refused"] = False
    except OSError as exc:
        out["audit_refused"] = "test: no network" in str(exc)
    del REFUSED[before:]
    libc = ctypes.CDLL(None, use_errno=True)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setblocking(False)  # with a network this would only start connecting
        addr = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 9) + socket.inet_aton(CANARY) + bytes(8)
        rc = libc.connect(s.fileno(), ctypes.c_char_p(addr), len(addr))
        out["native_errno"] = ctypes.get_errno() if rc else 0
    return out


def _text(message: dict) -> str:
    """The text of a chat message as the chatbot returns it (a string or a list of parts)."""
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def main(out_path: str) -> int:
    if os.environ.get("STAGECODE_TEST_NETNS") == "1":
        _loopback_up()
    marker = os.environ["STAGECODE_TEST_MARKER"]
    question = f"Do I get my travel costs reimbursed? {marker}"
    checks: dict[str, object] = {}
    try:
        from assistant.answering.conversation import Conversation
        from assistant.build import build
        from assistant.settings import Settings

        assistant = build(Settings.from_env(), llm=False)  # builds it
        conv = Conversation()
        first = assistant.ask(question, "student", None, conv)
        # the follow-ups carry no marker: a random token in a message of four words decides how
        # it reads; the question it is joined to carries the marker into the resolved question
        follow = assistant.ask("And for dual students?", "student", None, conv)
        checks["ask"] = [c.id for c in first.citations][:1]
        checks["follow_up_resolved"] = bool(follow.resolved_question)
        try:
            assistant.ask(marker * 300)
        except ValueError as exc:
            checks["too_long"] = str(exc)[:60]

        from assistant import cli

        checks["cli"] = cli.main(["ask", "--json", f"Krijg ik mijn reiskosten vergoed? {marker}"])

        from gradio_client import Client

        from assistant.ui.app import build_app, launch_app

        demo = build_app(assistant)
        port = _free_port()
        launch_app(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=False)
        base = f"http://127.0.0.1:{port}"
        try:
            import httpx

            checks["page"] = httpx.get(base + "/?id=3B.vd.4", timeout=30).status_code
            client = Client(base + "/", verbose=False)
            checks["api_ask"] = [c["id"] for c in client.predict(question, "student", "auto", api_name="/ask")["citations"]][:1]
            client.predict(question, "student", "auto", api_name="/chat")
            checks["api_chat_follow_up"] = client.predict(
                "And for dual students?", "student", "auto", api_name="/chat")["resolved_question"] is not None
            for bad in ((f"{marker} ", "ceo"), ("", "student"), (marker * 300, "student")):
                try:
                    client.predict(bad[0], bad[1], "auto", api_name="/ask")
                except Exception as exc:  # AppError: the message the user sees
                    checks.setdefault("api_errors", []).append(str(exc)[:80])  # type: ignore[union-attr]
            checks["rest"] = _malformed_calls(base, marker)
            page = httpx.get(base + "/", timeout=30)
            checks["headers"] = {k: page.headers.get(k, "") for k in (
                "content-security-policy", "x-frame-options", "x-content-type-options")}
            checks["big_body"] = httpx.post(base + "/gradio_api/call/ask", timeout=30,
                                            content=json.dumps({"data": [marker * 40000]})).status_code
            checks["upload"] = httpx.post(base + "/gradio_api/upload", timeout=30,
                                          files={"files": ("q.txt", (marker * 400).encode())}).status_code
            ui = _ui_chat(base, [question, f"Geldt dat ook voor duale studenten? {marker}"])
            checks["ui_chat"] = [len(h) for h in ui]
            checks["ui_cites"] = "3B.vd.4" in _text(ui[0][-1])
            client.close() if hasattr(client, "close") else None
        finally:
            demo.close()
        checks["done"] = True
        checks["canaries"] = _canaries()
    finally:
        with open(out_path, "w", encoding="utf-8") as fh:
            json.dump({"refused": REFUSED, "writes": sorted(WRITES), "checks": checks}, fh)
    return 0


def _malformed_calls(base: str, marker: str) -> list[int]:
    """Every odd request shape to the REST endpoints, each carrying the marker; the results are
    read so that the server really processes them. Returns the HTTP statuses seen."""
    import httpx

    q = f"Do I get my travel costs reimbursed? {marker}"
    bodies: list[object] = [
        {"data": [q]}, {"data": [q, 5, None]}, {"data": {"q": q}}, {"data": [[q]]},
        {"data": [{"x": q}]}, {"data": [q, "student", "auto", "extra"]}, {"question": q},
        {"data": [q, {"role": q}, ["auto"]]}, {"data": [None, q, q]},
    ]
    statuses = []
    for name in ("ask", "chat"):
        for body in [*bodies, f"not json {q}"]:
            content = body if isinstance(body, str) else json.dumps(body)
            r = httpx.post(f"{base}/gradio_api/call/{name}", content=content, timeout=30,
                           headers={"content-type": "application/json"})
            statuses.append(r.status_code)
            if r.status_code == 200 and "event_id" in r.text:
                event = r.json()["event_id"]
                statuses.append(httpx.get(f"{base}/gradio_api/call/{name}/{event}", timeout=60).status_code)
    return statuses


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
