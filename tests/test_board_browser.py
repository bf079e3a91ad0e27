"""The status board in a real browser (Debian's Chromium, headless) on the shipped 145-item config.

Asserts what a person sees: the decision, 145 rows, filters that change the rows, and the
probe-now button updating an item. Saves screenshots to test-artifacts/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest
from support.browser import start_chromium
from support.procs import ROOT, http_get, start_exporter, wait_until

ARTIFACTS = ROOT / "test-artifacts"


def cli(config, *args):
    """A command of the exporter's command line on the test's config (and so its store)."""
    result = subprocess.run(
        [sys.executable, "-m", "exporter", *args, "--config.file", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def attest(config, item, status, by, evidence):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "attest",
            "--config.file",
            str(config),
            item,
            "--status",
            status,
            "--by",
            by,
            "--evidence",
            evidence,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def shipped(tmp_path):
    """The shipped config in a temp dir, with a few attestations so every colour shows."""
    config = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    attest(config, "S-017", "pass", "Jane Doe", "RDS encryption at rest enabled, KMS key rotated")
    attest(config, "S-020", "pass", "Jane Doe", "User deletion drill 2026-11-12")
    attest(config, "S-006", "fail", "Ann Lee", "Gmail OAuth consent screen still in testing")
    attest(config, "O-013", "partial", "Ann Lee", "S3 sync configured, Glacier lifecycle pending")
    # Targets unset, so automated items are PENDING; S-007's env probe FAILs on an empty secret.
    proc, base = start_exporter(
        config, tmp_path / "exporter.log", env={"JWT_SECRET": "", "DATA_PATH": ""}
    )
    wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 60, "every item probed once")
    yield config, base
    proc.stop()


def test_board_in_chromium(shipped):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    config, base = shipped
    ARTIFACTS.mkdir(exist_ok=True)
    driver = start_chromium()
    try:
        wait = WebDriverWait(driver, 20)

        def rows():
            return driver.find_elements(By.CSS_SELECTOR, "#items tbody tr.item")

        driver.get(f"{base}/")
        assert driver.find_element(By.ID, "decision").text == "NO-GO"
        reason = driver.find_element(By.CSS_SELECTOR, ".banner .reason").text
        assert reason.startswith("80 critical items not PASS: S-001, S-002, S-003")
        assert len(rows()) == 145
        assert driver.find_element(By.ID, "shown").text == "145 of 145 items"
        signed = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="S-017"]').text
        assert "PASS" in signed and "Jane Doe" in signed
        driver.save_screenshot(str(ARTIFACTS / "board.png"))

        # Filters: ticking a box submits the form (board.js) and the rows change.
        driver.find_element(By.NAME, "critical").click()
        wait.until(lambda d: len(rows()) == 81)
        assert all("critical" in r.text for r in rows())
        Select(driver.find_element(By.NAME, "category")).select_by_visible_text("Final Validation")
        wait.until(lambda d: driver.find_element(By.ID, "shown").text == "10 of 145 items")
        assert [r.get_attribute("data-id") for r in rows()] == [f"F-{n:03d}" for n in range(1, 11)]
        driver.get(f"{base}/")
        driver.find_element(By.NAME, "failing").click()
        wait.until(lambda d: len(rows()) < 145)
        assert [r.get_attribute("data-id") for r in rows()] == ["S-006", "S-007", "O-013"]

        # Probe now: sign F-006 off behind the exporter's back, then press the button.
        driver.get(f"{base}/items/F-006")
        assert "PENDING" in driver.find_element(By.CSS_SELECTOR, ".result").text
        (config.parent / "attestations").mkdir(exist_ok=True)  # attest records in the store
        (config.parent / "attestations" / "F-006.yaml").write_text(
            textwrap.dedent("""\
            item: F-006
            status: pass
            validated_by: Eng Lead
            date: 2026-11-20
            evidence: [Sign-off meeting minutes https://wiki.example/go-live]
            """)
        )
        driver.find_element(By.ID, "probe-button").click()
        section = wait.until(lambda d: d.find_elements(By.ID, "probe-now"))[0]
        assert "Probe now: PASS" in section.text
        assert "result PASS: PASS attested, signed by Eng Lead on 2026-11-20" in section.text
        assert "Eng Lead" in driver.find_element(By.CSS_SELECTOR, "dl.evidence").text
        driver.save_screenshot(str(ARTIFACTS / "item.png"))

        driver.get(f"{base}/?category=final_validation")
        f006 = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="F-006"]')
        assert "PASS" in f006.text

        # Self-refresh: an attestation recorded meanwhile appears without a page load.
        driver.execute_script("window.sameDocument = true")
        attest(config, "F-007", "pass", "Ops Lead", "Runbooks reviewed")
        wait_until(
            lambda: '"status": "pass"' in http_get(f"{base}/api/v1/items/F-007")[1].decode(),
            20,
            "F-007 PASS on the exporter",
        )
        driver.execute_async_script("window.boardRefresh().then(arguments[0])")
        f007 = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="F-007"]')
        assert "PASS" in f007.text and "Ops Lead" in f007.text
        assert driver.execute_script("return window.sameDocument") is True
        assert driver.find_element(By.ID, "shown").text == "10 of 145 items"  # filter kept

        # A phone: the table turns into labelled cards and still shows the decision.
        driver.set_window_size(390, 844)
        driver.get(f"{base}/?critical=1")
        assert driver.find_element(By.ID, "decision").is_displayed()
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 400
        driver.save_screenshot(str(ARTIFACTS / "board-phone.png"))

        # Dark: the page follows the system's colour scheme.
        def background():
            return driver.execute_script("return getComputedStyle(document.body).backgroundColor")

        light = background()
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        assert background() != light
        driver.save_screenshot(str(ARTIFACTS / "board-phone-dark.png"))

        # The Content-Security-Policy lets the board be itself: no script or style refused.
        refused = [
            e["message"] for e in driver.get_log("browser") if "Content Security" in e["message"]
        ]
        assert not refused, refused
    finally:
        driver.quit()


def test_the_launch_process_on_the_board_in_chromium(shipped):
    """Owners (and the owner filter), an accepted risk and its expiry, remediation (and the FAIL
    items without one), the Sign-Off Sheet with a signature that stops counting, the launch
    phase and the recorded decision beside the computed one, the post-launch tasks."""
    import datetime as dt
    import json

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    config, base = shipped
    launched = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cli(
        config,
        "accept-risk",
        "S-006",
        "--by",
        "Sam Sec",
        "--impact",
        "medium",
        "--probability",
        "low",
        "--mitigation",
        "OAuth app in review",
        "--expires",
        "30d",
    )
    cli(config, "remediate", "S-007", "--link", "https://tickets.example/SEC-7", "--by", "Bob")
    cli(config, "sign", "Security Lead", "--by", "Sue Sec", "--notes", "gaps known")
    cli(config, "decide", "go", "--by", "Carla CTO", "--launch", launched)

    def launch_doc():
        return json.loads(http_get(f"{base}/api/v1/status")[1])["launch"]

    wait_until(lambda: launch_doc()["phase"] == "first_48h", 20, "the decision on the exporter")
    ARTIFACTS.mkdir(exist_ok=True)
    driver = start_chromium()
    try:
        wait = WebDriverWait(driver, 20)
        driver.get(f"{base}/")
        assert driver.find_element(By.ID, "phase").text == "First 48 Hours"
        recorded = driver.find_element(By.ID, "recorded-decision").text
        assert recorded.startswith("Recorded decision GO by Carla CTO")
        assert "Computed now: NO-GO, not the recorded GO." in recorded

        s006 = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="S-006"]')
        assert "risk accepted until" in s006.text
        assert s006.find_element(By.CSS_SELECTOR, "td.owner").text == "security"
        s007 = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="S-007"]')
        assert "plan: https://tickets.example/SEC-7" in s007.text
        without = driver.find_element(By.ID, "without-plan").text
        assert "1 FAIL item without a remediation plan" in without and "S-006" in without
        risks = driver.find_elements(By.CSS_SELECTOR, "table.risks tbody tr")
        assert [r.get_attribute("data-id") for r in risks] == ["S-006"]
        assert "OAuth app in review" in risks[0].text

        security = driver.find_element(By.CSS_SELECTOR, 'tr[data-role="Security Lead"]')
        assert "✓ counts: given for this state (NO-GO)" in security.text
        assert len(driver.find_elements(By.CSS_SELECTOR, "table.sheet tr.unsigned")) == 4
        tasks = driver.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")
        assert len(tasks) == 19
        assert "First 48 Hours" in tasks[1].text and "PL-002" in tasks[1].text
        driver.save_screenshot(str(ARTIFACTS / "board-process.png"))

        # The owner filter: only the product team's items.
        Select(driver.find_element(By.ID, "owner")).select_by_visible_text("product")
        wait.until(
            lambda d: (
                "of 145 items" in d.find_element(By.ID, "shown").text
                and not d.find_element(By.ID, "shown").text.startswith("145")
            )
        )
        owners = {
            r.find_element(By.CSS_SELECTOR, "td.owner").text
            for r in driver.find_elements(By.CSS_SELECTOR, "#items tbody tr.item")
        }
        assert owners == {"product"}

        # S-017 passed when Security signed; it fails now: the signature no longer counts.
        attest(config, "S-017", "fail", "Jane Doe", "KMS key rotation stopped")
        wait_until(lambda: not launch_doc()["signoffs"][2]["counts"], 20, "the signature voided")
        driver.get(f"{base}/")
        security = driver.find_element(By.CSS_SELECTOR, 'tr[data-role="Security Lead"]')
        assert "⚠ given for another state: not PASS since signing: S-017" in security.text
        assert "Sign-Off Sheet (0 of 5 count)" in driver.find_element(By.ID, "signoffs").text

        # The item page lists the item's records.
        driver.get(f"{base}/items/S-006")
        records = driver.find_element(By.ID, "records").text
        assert "Owner\nsecurity" in records
        assert "Risk accepted\nimpact medium, probability low; mitigation: OAuth app" in records
        assert "Remediation\nno remediation plan" in records
    finally:
        driver.quit()
