"""`hailong demo` (what `make run` starts): the central server with a demo
organisation, a simulated rating box on a pseudo-terminal and the kiosk window,
enrolled and connected, in one terminal. Keys 1–N press the simulated buttons.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import select
import signal
import subprocess
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from hailong.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help=_("run server, simulated box and kiosk together (what make run starts)"),
        description=_(
            "Start, in this terminal: the central server with a demo organisation, a simulated "
            "rating box on a pseudo-terminal, and the kiosk window enrolled with the server and "
            "connected to the box. Keys 1-4 press the box's buttons, q or Ctrl-C stops everything. "
            "With no display the window runs under Xvfb."
        ),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/demo"),
        help=_("where the demo keeps its databases (default: var/demo)"),
    )
    parser.add_argument("--port", type=int, default=8080, help=_("server port (default: 8080)"))
    parser.add_argument(
        "--no-window",
        action="store_true",
        help=_("run without the kiosk window (server and box only)"),
    )
    parser.set_defaults(func=_run)


def hailong_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hailong", *args]


def wait_for_http(url: str, deadline_s: float, proc: subprocess.Popen | None = None) -> None:
    import requests

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                _("the server stopped while starting (exit {code})").format(code=proc.returncode)
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).ok:
                return
        time.sleep(0.2)
    raise RuntimeError(_("no answer from {url} after {s} s").format(url=url, s=deadline_s))


def write_kiosk_settings(
    path: Path, data_dir: Path, box_link: Path, server_url: str, staff_pin: str
) -> None:
    """The demo kiosk's settings; `staff_pin` opens its supervisor and technician
    screens."""
    from hailong.kiosk.staff.pins import hash_pin

    pin_hash = hash_pin(staff_pin)
    path.write_text(
        "# Written by `hailong demo`.\n"
        "[kiosk]\n"
        f'data_dir = "{data_dir}"\n'
        "fullscreen = false\n"
        f'supervisor_pin_hash = "{pin_hash}"\n'
        f'technician_pin_hash = "{pin_hash}"\n'
        "[device]\n"
        f'port = "{box_link}"\n'
        "[sync]\n"
        f'server_url = "{server_url}"\n'
        "interval_s = 2.0\n"
        "# A demo may be tried in the evening: no rating is flagged outside opening hours.\n"
        "[kiosk.opening_hours]\n"
        "enabled = false\n",
        encoding="utf-8",
    )


def enroll_kiosk(server_dir: Path, kiosk_settings: Path, log: Path, counter_id: int = 1) -> int:
    """Issue a code with the admin command and trade it with the kiosk command, as a
    technician would, then sign in the roster's first officer. Returns who is signed in."""
    import json

    from hailong.config.loader import load_kiosk
    from hailong.sync.store import KioskStore

    database = load_kiosk(kiosk_settings).kiosk.database_path

    def signed_in() -> int | None:
        with contextlib.closing(KioskStore(database)) as store:
            officer = store.get_state("officer_id")
            return int(officer) if store.get_state("token") and officer else None

    already = signed_in()
    if already is not None:
        return already
    with log.open("a") as errors:

        def run(*args: str) -> str:
            done = subprocess.run(
                hailong_command(*args),
                check=True,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
            return done.stdout

        code = (
            run("admin", "--data-dir", str(server_dir), "enroll-code", "--counter", str(counter_id))
            .strip()
            .splitlines()[-1]
        )
        print(run("kiosk", "--config", str(kiosk_settings), "enroll", code), end="")
        with contextlib.closing(KioskStore(database)) as store:
            first = json.loads(store.get_state("config") or "{}")["officers"][0]["id"]
        print(run("kiosk", "--config", str(kiosk_settings), "sign-in", str(first)), end="")
    return first


@contextlib.contextmanager
def display() -> Iterator[dict[str, str]]:
    """The environment for the kiosk window: the user's display, or a private Xvfb."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        yield {}
        return
    from hailong.xvfb import Xvfb

    with Xvfb() as xvfb:
        print(
            _("No display found: the kiosk window runs under Xvfb on {display}.").format(
                display=xvfb.display
            )
        )
        print(
            _("  To look at it: DISPLAY={display} import -window root kiosk.png").format(
                display=xvfb.display
            )
        )
        yield {"DISPLAY": xvfb.display}


@contextlib.contextmanager
def keys_without_echo() -> Iterator[None]:
    if not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    for proc in reversed(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir.resolve()
    server_dir = data_dir / "server"
    kiosk_dir = data_dir / "kiosk"
    logs = data_dir / "logs"
    box_link = data_dir / "box"
    kiosk_settings = data_dir / "kiosk.toml"
    server_url = f"http://127.0.0.1:{args.port}"
    logs.mkdir(parents=True, exist_ok=True)
    # Renewed on every start, as the server renews the demo's password and officer PIN.
    staff_pin = "".join(secrets.choice("0123456789") for _i in range(6))
    write_kiosk_settings(kiosk_settings, kiosk_dir, box_link, server_url, staff_pin)

    procs: list[subprocess.Popen] = []
    # Children run in their own sessions so a Ctrl-C reaches only this process, which
    # then stops them in order (kiosk first, server last).
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as stack:
        stack.callback(print, _("Stopped."))
        stack.callback(stop_all, procs)
        try:
            _check_port_free(args.port)
            server_log = stack.enter_context((logs / "server.log").open("a"))
            server = subprocess.Popen(
                hailong_command(
                    "server", "--demo", "--data-dir", str(server_dir), "--port", str(args.port)
                ),
                stdout=subprocess.PIPE,
                stderr=server_log,
                text=True,
                start_new_session=True,
            )
            procs.append(server)
            threading.Thread(
                target=_show_until_listening, args=(server.stdout, server_log), daemon=True
            ).start()
            wait_for_http(f"{server_url}/healthz", 60, server)
            officer = enroll_kiosk(server_dir, kiosk_settings, logs / "enroll.log")

            box = subprocess.Popen(
                hailong_command("device", "simulate", "--link", str(box_link)),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stack.enter_context((logs / "box.log").open("a")),
                text=True,
                start_new_session=True,
            )
            procs.append(box)
            if not (box.stdout and box.stdout.readline()):
                raise RuntimeError(_("the simulated box did not start"))
            print(_("Simulated rating box: {link}").format(link=box_link))

            env = stack.enter_context(display())
            # The window must close before its display does.
            stack.callback(stop_all, procs)
            kiosk_log = stack.enter_context((logs / "kiosk.log").open("a"))

            def start_kiosk() -> subprocess.Popen:
                return subprocess.Popen(
                    hailong_command("kiosk", "--config", str(kiosk_settings), "run"),
                    env={**os.environ, **env},
                    stdout=kiosk_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

            kiosk = None if args.no_window else start_kiosk()
            if kiosk is not None:
                procs.append(kiosk)

            def start_again(stopped: subprocess.Popen) -> subprocess.Popen | None:
                # The kiosk stops by itself, with 0, to be started again (after an
                # enrollment from its technician screen): its service unit restarts it,
                # and so does the demo. Any other stop ends the demo.
                if stopped.args != getattr(kiosk, "args", None) or stopped.returncode != 0:
                    return None
                print(_("The kiosk stopped to be started again; starting it."))
                return start_kiosk()

            print()
            print(_("Hài Lòng is running. Dashboard: {url}").format(url=server_url))
            print(
                _("Score of the signed-in officer: {url}/officers/{id}").format(
                    url=server_url, id=officer
                )
            )
            print(
                _("The kiosk's supervisor and technician screens open with the PIN {pin}").format(
                    pin=staff_pin
                )
            )
            print(_("Logs: {path}").format(path=logs))
            print(_("Press 1-4 to press a button on the rating box; q or Ctrl-C to stop."))
            _forward_keys(box, procs, start_again)
        except KeyboardInterrupt:
            pass
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(_("Demo failed: {error}").format(error=exc), file=sys.stderr)
            print(_("Logs: {path}").format(path=logs), file=sys.stderr)
            return 1
    return 0


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise RuntimeError(
                _(
                    "port {port} is already in use; stop what uses it, or choose another port "
                    "with --port (make run DEMO_ARGS='--port 8081')"
                ).format(port=port)
            ) from None


def _show_until_listening(stream: IO[str] | None, log: IO[str]) -> None:
    """The server's first lines (the supervisor's login) are for the person at the
    terminal; what follows (request log) goes to its log file."""
    showing = True
    for line in stream or ():
        if showing:
            print(line, end="", flush=True)
            showing = not line.startswith("listening on")
        else:
            log.write(line)
            log.flush()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _forward_keys(
    box: subprocess.Popen,
    procs: list[subprocess.Popen],
    start_again: Callable[[subprocess.Popen], subprocess.Popen | None],
) -> None:
    """Press the box's buttons for the keys typed, show what the box says, and watch
    the processes: one that stopped is replaced by what `start_again` gives for it,
    or ends the demo when that is None."""
    assert box.stdin is not None and box.stdout is not None
    with keys_without_echo():
        while True:
            for index, proc in enumerate(procs):
                if proc.poll() is None:
                    continue
                again = start_again(proc)
                if again is None:
                    raise RuntimeError(
                        _("{cmd} stopped (exit {code})").format(
                            cmd=" ".join(proc.args[3:5]), code=proc.returncode
                        )
                    )
                procs[index] = again
            ready, _w, _x = select.select([sys.stdin, box.stdout], [], [], 0.5)
            if box.stdout in ready:
                _show_box_event(box.stdout.readline())
            if sys.stdin in ready:
                key = sys.stdin.read(1)
                if key == "" or key in ("q", "Q"):
                    return
                if key.isdigit() and key != "0":
                    box.stdin.write(f"press {key}\n")
                    box.stdin.flush()


def _show_box_event(line: str) -> None:
    import json

    try:
        event = json.loads(line)
    except ValueError:
        return
    if event.get("event") == "press":
        print(
            _("box: button {button} pressed (sequence {seq})").format(
                button=event.get("button"), seq=event.get("seq")
            )
        )
    elif event.get("event") == "ack":
        print(_("box: sequence {seq} stored and acknowledged").format(seq=event.get("seq")))
