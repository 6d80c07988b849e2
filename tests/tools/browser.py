"""Open an HTML file in headless Chromium (Debian's binary, driven by Playwright) and collect what happened."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PageVisit:
    """What a page did when loaded: console errors, network requests other than the file itself, its text."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    text: str = ""


_BROWSERS: dict[str, tuple] = {}  # one Chromium per process (a pytest session or xdist worker), by binary


def shared_browser(chromium: str):
    """The process's one headless Chromium, launched on first use (close_browsers ends it); each page gets a
    fresh context, so tests share nothing but the browser process."""
    if chromium not in _BROWSERS:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                     "--disable-background-networking"])
        _BROWSERS[chromium] = (pw, browser)
    return _BROWSERS[chromium][1]


def close_browsers() -> None:
    """Close the shared browsers (the end of a pytest session, or of a script)."""
    while _BROWSERS:
        _, (pw, browser) = _BROWSERS.popitem()
        browser.close()
        pw.stop()


@contextlib.contextmanager
def open_page(chromium: str, html: Path, width: int = 1200, javascript: bool = True, fragment: str = ""):
    """Yield (page, visit) for a local HTML file (with `fragment`, '#...', after its address) in a fresh context
    of the shared browser; network requests are recorded and aborted."""
    url = Path(html).resolve().as_uri()
    visit = PageVisit()
    context = shared_browser(chromium).new_context(viewport={"width": width, "height": 900},
                                                   java_script_enabled=javascript)
    try:
        page = context.new_page()
        page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: visit.console_errors.append(str(e)))

        def route(r):
            if r.request.url != url:
                visit.requests.append(r.request.url)
                return r.abort()
            return r.continue_()

        page.route("**/*", route)
        page.goto(url + fragment)
        page.wait_for_load_state("load")
        if javascript:  # a live page settles once its link's conventions are unpacked (tracer.export.live)
            page.wait_for_function("!document.getElementById('live-data') || document.body.dataset.live === 'ready'")
        visit.text = page.inner_text("body")
        yield page, visit
    finally:
        context.close()
