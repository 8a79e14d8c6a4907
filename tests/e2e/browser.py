"""A page as a user's browser shows it: headless Chromium driven over the DevTools protocol, logged
in with the session cookies given, with the report font for Chinese text; its text and a screenshot."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import requests
import websockets

from warehouse.airflow_local import free_port


def _fonts_config(folder: Path) -> Path:
    from reports.document import font_file

    config = folder / "fonts.conf"
    config.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<dir>{font_file().parent}</dir><cachedir>{folder / "cache"}</cachedir></fontconfig>""")
    return config


def render(url: str, cookies: dict[str, str], ready, screenshot: Path, timeout: float = 150) -> str:
    """Open ``url`` with ``cookies`` set and wait until ``ready(text)`` holds for the page's text (or
    the timeout passes); save a screenshot; return the text."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed (make setup installs it when run as root)"
    port = free_port()
    profile = screenshot.parent / "chromium-profile"
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={profile}", f"--remote-debugging-port={port}", "--window-size=1600,1400", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"FONTCONFIG_FILE": str(_fonts_config(screenshot.parent)), "HOME": str(screenshot.parent)})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=5).json()
                pages = [t for t in targets if t["type"] == "page"]
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "Chromium's DevTools did not answer"
                time.sleep(0.3)
        return asyncio.run(_drive(pages[0]["webSocketDebuggerUrl"], url, cookies, ready, screenshot, timeout))
    finally:
        browser.kill()
        browser.wait()


async def _drive(devtools: str, url: str, cookies: dict[str, str], ready, screenshot: Path, timeout: float) -> str:
    host = url.split("/")[2].split(":")[0]
    async with websockets.connect(devtools, max_size=64 * 1024 * 1024) as socket:
        calls = iter(range(1, 10**6))

        async def call(method: str, **params):
            number = next(calls)
            await socket.send(json.dumps({"id": number, "method": method, "params": params}))
            while True:
                message = json.loads(await socket.recv())
                if message.get("id") == number:
                    return message.get("result", {})

        for name, value in cookies.items():
            await call("Network.setCookie", name=name, value=value, domain=host, path="/")
        await call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            await asyncio.sleep(2)
            found = await call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
            text = found.get("result", {}).get("value", "")
            if ready(text):
                await asyncio.sleep(2)  # the last chart's paint
                break
        shot = await call("Page.captureScreenshot", format="png")
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        return text
