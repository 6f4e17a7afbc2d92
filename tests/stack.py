"""The product as separate real processes, for the end-to-end and fault tests: the
central server (`hailong server --demo`), enrollment through `hailong admin
enroll-code` and `hailong kiosk enroll`, the simulated box (`hailong device
simulate`) and the kiosk (`hailong kiosk run`). Nothing of ours is mocked."""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

STARTUP_S = 60.0
COMMAND_TIMEOUT_S = 60.0
# "…/login  username: NAME  password: SECRET  (…)" in whichever language.
_LOGIN_LINE = re.compile(r"/login\s.*?:\s+(\S+)\s+.*?:\s+(\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hailong(*args: str) -> list[str]:
    return [sys.executable, "-m", "hailong", *args]


def run_hailong(*args: str) -> str:
    """Run a `hailong` command to completion; its standard output. Fails loudly."""
    done = subprocess.run(
        hailong(*args), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
    )
    if done.returncode != 0:
        raise AssertionError(
            f"hailong {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


class Process:
    """A child process whose output lines are collected as they come: `wait_for`
    consumes them in order, `history` keeps every one."""

    def __init__(self, name: str, argv: list[str], **kwargs) -> None:
        self.name = name
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.history: list[str] = []
        self._history_lock = threading.Lock()
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            **kwargs,
        )
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            with self._history_lock:
                self.history.append(line)
            self.on_line(line)
            self.lines.put(line)

    def on_line(self, line: str) -> None:
        """Called from the reader thread for every line (subclasses parse here)."""

    def tail(self, count: int = 40) -> str:
        with self._history_lock:
            return "\n".join(self.history[-count:])

    def wait_for(self, match: Callable[[str], object], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if match(line):
                return line
        raise AssertionError(
            f"{self.name}: expected line not seen in {timeout} s "
            f"(exit {self.proc.poll()}); output:\n" + "\n".join(self.seen[-40:])
        )

    def kill(self) -> None:
        """SIGKILL, as a power cut or a crash would end it; waits for the exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._pump_thread.join(timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def json_event(kind: str, **fields: object) -> Callable[[str], bool]:
    def match(line: str) -> bool:
        try:
            event = json.loads(line)
        except ValueError:
            return False
        return event.get("event") == kind and all(event.get(k) == v for k, v in fields.items())

    return match


@contextmanager
def processes() -> Iterator[list[Process]]:
    """Processes appended to the list are stopped, last first, when the block ends."""
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            process.stop()


@dataclass
class Server:
    process: Process
    url: str
    data_dir: Path
    username: str
    password: str

    @property
    def database(self) -> Path:
        return self.data_dir / "server.db"

    def enroll_code(self, counter: int = 1) -> str:
        """A one-time enrollment code, as a technician gets it from the admin command."""
        out = run_hailong(
            "admin", "--data-dir", str(self.data_dir), "enroll-code", "--counter", str(counter)
        )
        return out.strip().splitlines()[-1]

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Rows from the server's SQLite database, opened read-only."""
        uri = f"file:{self.database}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return db.execute(sql, params).fetchall()


def start_server(data_dir: Path, started: list[Process], config: Path | None = None) -> Server:
    """`hailong server --demo` on a free port of 127.0.0.1, listening when this returns;
    with the settings file `config` when given."""
    port = free_port()
    extra = ("--config", str(config)) if config else ()
    process = Process(
        "server",
        hailong("server", "--demo", "--data-dir", str(data_dir), "--port", str(port), *extra),
    )
    started.append(process)
    # The server speaks its own configured language: match the shape, not the words.
    login_line = process.wait_for(_LOGIN_LINE.search, STARTUP_S)
    process.wait_for(lambda line: line.startswith("listening on"), STARTUP_S)
    found = _LOGIN_LINE.search(login_line)
    assert found, login_line
    username, password = found.groups()
    return Server(process, f"http://127.0.0.1:{port}", data_dir, username, password)


def write_kiosk_settings(
    path: Path,
    *,
    data_dir: Path,
    box_link: Path,
    server_url: str,
    kiosk: dict[str, object] | None = None,
    sync: dict[str, object] | None = None,
) -> Path:
    """A kiosk TOML file: extra `[kiosk]` and `[sync]` keys from the dicts."""

    def lines(values: dict[str, object]) -> str:
        return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())

    path.write_text(
        f"[kiosk]\ndata_dir = {json.dumps(str(data_dir))}\nfullscreen = false\n"
        + lines(kiosk or {})
        + f"[device]\nport = {json.dumps(str(box_link))}\n"
        + f"[sync]\nserver_url = {json.dumps(server_url)}\n"
        + lines(sync or {})
        # Tests run at any hour: no rating is flagged as outside opening hours.
        + "[kiosk.opening_hours]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


def enroll_kiosk(kiosk_toml: Path, code: str, server_url: str | None = None) -> list[int]:
    """Enroll with `hailong kiosk enroll`; the officer ids on the roster it printed."""
    extra = ("--server", server_url) if server_url else ()
    out = run_hailong("kiosk", "--config", str(kiosk_toml), "enroll", code, *extra)
    return [int(found) for found in re.findall(r"^\s+(\d+): ", out, re.M)]


def sign_in(kiosk_toml: Path, officer_id: int) -> None:
    run_hailong("kiosk", "--config", str(kiosk_toml), "sign-in", str(officer_id))


class Box(Process):
    """`hailong device simulate`: press buttons through its stdin; every JSON event
    it prints is kept in `events`, in order."""

    def __init__(self, link: Path) -> None:
        self.events: list[dict] = []
        self._presses: set[tuple[int, int]] = set()
        self._acks: set[tuple[int, int]] = set()
        self._changed = threading.Condition()
        super().__init__("box", hailong("device", "simulate", "--link", str(link)),
                         stdin=subprocess.PIPE)

    def on_line(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        if isinstance(event, dict):
            with self._changed:
                self.events.append(event)
                if event.get("event") == "press":
                    self._presses.add((event["boot_nonce"], event["seq"]))
                elif event.get("event") == "ack":
                    self._acks.add((event["boot_nonce"], event["seq"]))
                self._changed.notify_all()

    def press(self, *buttons: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(f"press {b}\n" for b in buttons))
        self.proc.stdin.flush()

    def snapshot(self) -> list[dict]:
        with self._changed:
            return list(self.events)

    def wait_until(self, condition: Callable[[list[dict]], bool], timeout: float) -> None:
        """Until `condition(events)` holds; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(
                        f"box: condition not met in {timeout} s; last output:\n" + self.tail()
                    )
                self._changed.wait(min(left, 0.5))

    def presses(self) -> set[tuple[int, int]]:
        """(boot nonce, seq) of every press the box took into its ring."""
        with self._changed:
            return set(self._presses)

    def acked(self) -> set[tuple[int, int]]:
        """(boot nonce, seq) of every press the kiosk acknowledged (the light confirmed)."""
        with self._changed:
            return set(self._acks)


def start_box(link: Path, started: list[Process]) -> tuple[Box, str]:
    """A simulated box whose pty is reachable at `link`; (box, its serial number)."""
    box = Box(link)
    started.append(box)
    box.wait_until(lambda events: any(e["event"] == "ready" for e in events), STARTUP_S)
    ready = next(e for e in box.snapshot() if e["event"] == "ready")
    return box, str(ready["serial"])


def start_kiosk(kiosk_toml: Path, name: str = "kiosk") -> Process:
    """`hailong kiosk run --no-window`: the box driver, the store and the uploader."""
    return Process(name, hailong("kiosk", "--config", str(kiosk_toml), "run", "--no-window"))


def sync_status(kiosk_toml: Path) -> str:
    return run_hailong("sync", "status", "--config", str(kiosk_toml))


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


class Http:
    """`requests` bound to one server, never without a timeout."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", COMMAND_TIMEOUT_S)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def form_token(self, path: str = "/login") -> str:
        """The CSRF token of the form on the page at `path` (the nonce cookie it
        sets stays in this client)."""
        page = self.get(path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, f"no form token on {path}: {page.status_code}"
        return match.group(1)

    def login(self, username: str, password: str, next_path: str = "/") -> requests.Response:
        return self.post(
            "/login",
            data={"username": username, "password": password, "next": next_path,
                  "csrf_token": self.form_token("/login")},
            allow_redirects=False,
        )

    def logout(self) -> requests.Response:
        return self.post("/logout", data={"csrf_token": self.form_token("/")},
                         allow_redirects=False)
