"""A small driver for headless Chromium over the DevTools protocol (CDP), for tests/test_browser.py.

Why not Playwright or Selenium: Debian's ``chromium`` is all we need, and the protocol's few
commands used here (navigate, evaluate, record network requests and console errors, mouse
clicks, screenshots) fit in this file, with ``websocket-client`` (pure Python, no browser
download) as the only dependency.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

import websocket

# The flags every run uses: headless, as root in a container (no sandbox), no GPU, and none of
# Chromium's own background connections (updates, sync, safe browsing, ...), which would leave
# the machine.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,900",
]


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM") or "", "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


class SiteServer:
    """Serve a folder on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, root: Path):
        handler = partial(QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class CDPError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with one page, driven over CDP."""

    def __init__(self, executable: str, profile: Path, timeout: float = 30.0):
        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        port = None
        deadline = time.monotonic() + timeout
        while port is None:
            line = self.proc.stderr.readline()
            if not line:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise CDPError("chromium did not start:\n" + "".join(self.stderr[-20:]))
                continue
            self.stderr.append(line)
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m[1])
        # keep draining stderr so that chromium never blocks on a full pipe
        threading.Thread(target=lambda: [self.stderr.append(x) for x in self.proc.stderr], daemon=True).start()
        targets = []
        while not targets and time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                targets = [t for t in json.load(r) if t.get("type") == "page"]
            time.sleep(0.1)
        self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], suppress_origin=True, timeout=timeout)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self.version = self.send("Runtime.evaluate", expression="navigator.userAgent", returnByValue=True)["result"]["value"]

    # --- protocol ---

    def send(self, method: str, timeout: float = 60.0, **params) -> dict:
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                raise CDPError(f"{method}: no answer within {timeout} s") from None
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CDPError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds: float) -> None:
        """Collect events for a while."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                return
            if "method" in msg:
                self.events.append(msg)

    def evaluate(self, expression: str, timeout: float = 60.0):
        """Evaluate JS (awaiting a promise) and return its JSON value; JS exceptions raise."""
        result = self.send("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True,
                           returnByValue=True, userGesture=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"JavaScript error: {text}")
        return result["result"].get("value")

    # --- page actions ---

    def goto(self, url: str, timeout: float = 30.0) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise CDPError(f"{url}: no load event within {timeout} s")
            self.pump(0.2)

    def requests(self) -> list[str]:
        urls = [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]
        urls += [e["params"]["url"] for e in self.events if e["method"] == "Network.webSocketCreated"]
        return urls

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads reported since the last goto()."""
        out = []
        for e in self.events:
            p = e["params"]
            if e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif e["method"] == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"log ({p['entry'].get('source')}): {p['entry']['text']} {p['entry'].get('url', '')}".strip())
            elif e["method"] == "Network.loadingFailed" and not p.get("canceled"):
                out.append(f"load failed: {p.get('errorText')} (request {p.get('requestId')})")
        return out

    def click(self, x: float, y: float) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path, element: str | None = None, max_height: int = 16000) -> Path:
        """A PNG of the whole page (its top max_height pixels), or of the element that the JS
        expression ELEMENT returns. The window is made as tall as the page for the shot (Chromium's
        captureBeyondViewport shifts very tall pages), then set back."""
        width = self.evaluate("window.innerWidth")
        height = min(int(self.send("Page.getLayoutMetrics")["cssContentSize"]["height"]), max_height)
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=max(height, 100), deviceScaleFactor=1,
                  mobile=False)
        try:
            self.pump(0.3)  # relayout after the resize
            if element is None:
                clip = {"x": 0, "y": 0, "width": width, "height": height}
            else:
                clip = self.evaluate(f"""(() => {{ const r = ({element}).getBoundingClientRect();
                    return {{x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}}; }})()""")
            data = self.send("Page.captureScreenshot", format="png", clip={**clip, "scale": 1})["data"]
        finally:
            self.send("Emulation.clearDeviceMetricsOverride")
            self.pump(0.2)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
