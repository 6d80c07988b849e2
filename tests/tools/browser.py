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


@contextlib.contextmanager
def open_page(chromium: str, html: Path, width: int = 1200, javascript: bool = True):
    """Yield (page, visit) for a local HTML file; network requests are recorded and aborted."""
    from playwright.sync_api import sync_playwright

    url = Path(html).resolve().as_uri()
    visit = PageVisit()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
            page = context.new_page()
            page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: visit.console_errors.append(str(e)))

            def route(r):
                if r.request.url != url:
                    visit.requests.append(r.request.url)
                    return r.abort()
                return r.continue_()

            page.route("**/*", route)
            page.goto(url)
            page.wait_for_load_state("load")
            visit.text = page.inner_text("body")
            yield page, visit
        finally:
            browser.close()
