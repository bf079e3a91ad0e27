"""Debian's Chromium, headless, driven through Debian's chromedriver with Selenium.

The browser is never downloaded: both paths are the Debian packages' (scripts/test.sh installs
them as root when missing; without them the test is skipped with that reason).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

# Flags that work on this kind of machine: no sandbox (root in CI), no GPU, and no traffic of
# the browser's own (updates, sync, QUIC) so the test only talks to loopback.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def start_chromium(width: int = 1280, height: int = 900) -> Any:
    """A Selenium WebDriver for headless Chromium; skips the test when it is not installed."""
    import pytest

    chromium = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(
            "chromium and chromium-driver are not installed (scripts/test.sh installs them as root)"
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
