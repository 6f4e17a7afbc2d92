"""A small driver of headless Chromium over the DevTools protocol, for the
browser tests and the screenshots: nothing is downloaded, the browser is the
system's (`/usr/bin/chromium`)."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 15.0
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
    "--font-render-hinting=none", "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
Event = dict[str, Any]


class BrowserError(RuntimeError):
    """Chromium did not start, answered with an error, or did not do it in time."""


class Chromium:
    """One headless Chromium with one page. Use as a context manager."""

    def __init__(self, binary: str = CHROMIUM, timeout_s: float = TIMEOUT_S, lang: str = "en-US"):
        self.binary = binary
        # The browser's own language: how it shows dates in a date field.
        self.lang = lang
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._events: list[Event] = []
        self._profile: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: websocket.WebSocket | None = None

    def __enter__(self) -> Chromium:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self._profile = Path(tempfile.mkdtemp(prefix="hailong-chromium-"))
        log = (self._profile / "chromium.log").open("wb")
        self._process = subprocess.Popen(
            [self.binary, *FLAGS, f"--lang={self.lang}",
             f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            # Chromium on Linux takes its interface language (date fields) from here.
            env={**os.environ, "LANGUAGE": self.lang.replace("-", "_")},
        )
        log.close()
        port_file = self._profile / "DevToolsActivePort"
        self._wait(lambda: port_file.exists() and len(port_file.read_text().split()) >= 2,
                   "Chromium did not open its DevTools port", poll_process=True)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                    timeout=self.timeout_s) as answer:
            targets = json.load(answer)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise BrowserError("Chromium has no page to drive")
        self._socket = websocket.create_connection(
            pages[0]["webSocketDebuggerUrl"], timeout=self.timeout_s, suppress_origin=True
        )
        self.send("Page.enable")
        self.send("Runtime.enable")

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(BrowserError, OSError, websocket.WebSocketException):
                self.send("Browser.close")
            self._socket.close()
            self._socket = None
        if self._process is not None:
            try:
                self._process.wait(self.timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(self.timeout_s)
            self._process = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def _wait(self, ready: Callable[[], bool], message: str, poll_process: bool = False) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not ready():
            if poll_process and self._process is not None and self._process.poll() is not None:
                raise BrowserError(f"{message}: it exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise BrowserError(f"{message} within {self.timeout_s} s")
            time.sleep(0.02)

    def _receive(self, deadline: float) -> Event:
        assert self._socket is not None, "the browser is not running"
        self._socket.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            return dict(json.loads(self._socket.recv()))
        except websocket.WebSocketTimeoutException:
            raise BrowserError(f"no answer from Chromium within {self.timeout_s} s") from None

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a DevTools method and return its result; events that arrive
        meanwhile are kept for `wait_for`."""
        assert self._socket is not None, "the browser is not running"
        call_id = next(self._ids)
        self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout_s
        while True:
            message = self._receive(deadline)
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                return dict(message.get("result", {}))
            if "method" in message:
                self._events.append(message)

    def wait_for(self, method: str) -> Event:
        """The first event named `method` since the last `expect_navigation`."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            for event in self._events:
                if event["method"] == method:
                    self._events.remove(event)
                    return event
            message = self._receive(deadline)
            if "method" in message:
                self._events.append(message)

    def expect_navigation(self) -> None:
        """Forget earlier events, before an action that loads a page."""
        self._events.clear()

    def goto(self, url: str) -> None:
        self.expect_navigation()
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"{url}: {result['errorText']}")
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def _centre(self, selector: str) -> tuple[float, float]:
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if box is None:
            raise BrowserError(f"nothing on the page matches {selector}")
        return float(box[0]), float(box[1])

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        x, y = self._centre(selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def type_into(self, selector: str, text: str) -> None:
        """Click into a field and type `text` as keyboard input."""
        self.click(selector)
        self.send("Input.insertText", text=text)

    def text(self, selector: str) -> str | None:
        return self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " return e ? e.textContent : null; })()"
        )

    def download(self, selector: str, folder: Path) -> Path:
        """Click `selector` and wait for the download it starts to finish in `folder`;
        the downloaded file."""
        self.send("Browser.setDownloadBehavior", behavior="allow",
                  downloadPath=str(folder), eventsEnabled=True)
        self.expect_navigation()
        self.click(selector)
        while True:
            event = self.wait_for("Browser.downloadProgress")
            state = event["params"]["state"]
            if state == "completed":
                return Path(event["params"]["filePath"])
            if state == "canceled":
                raise BrowserError("the download was cancelled")

    def screenshot(self, path: Path, width: int, height: int = 800, mobile: bool = False) -> None:
        """A PNG of the whole page laid out `width` CSS pixels wide."""
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)
        content = self.send("Page.getLayoutMetrics")["cssContentSize"]
        full = max(height, int(content["height"] + 0.5))
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=full,
                  deviceScaleFactor=1, mobile=mobile)
        shot = self.send("Page.captureScreenshot", format="png",
                         clip={"x": 0, "y": 0, "width": width, "height": full, "scale": 1})
        self.send("Emulation.clearDeviceMetricsOverride")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
