"""The status board in a real browser (Debian's Chromium, headless) on the shipped 145-item config.

Asserts what a person sees: the decision and what blocks it, first; 145 rows in the order the
sort links ask for, kept by the filters and the self-refresh; filters that change the rows; the
probe-now button updating an item; on a laptop and a phone, light and dark. Saves screenshots
to test-artifacts/.
"""

from __future__ import annotations

import shutil
import textwrap

import pytest
from support.browser import start_chromium
from support.cli import run_cli
from support.procs import ROOT, http_get, start_exporter, wait_until

ARTIFACTS = ROOT / "test-artifacts"


def cli(config, *args):
    """A command of the exporter's command line on the test's config (and so its store)."""
    result = run_cli(*args, "--config.file", str(config))
    assert result.returncode == 0, result.stderr
    return result.stdout


def attest(config, item, status, by, evidence):
    cli(config, "attest", item, "--status", status, "--by", by, "--evidence", evidence)


@pytest.fixture
def shipped(tmp_path):
    """The shipped config in a temp dir, with a few attestations so every colour shows."""
    config = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    attest(config, "S-017", "pass", "Jane Doe", "RDS encryption at rest enabled, KMS key rotated")
    attest(config, "S-020", "pass", "Jane Doe", "User deletion drill 2026-11-12")
    attest(config, "S-006", "fail", "Ann Lee", "Gmail OAuth consent screen still in testing")
    attest(config, "O-013", "partial", "Ann Lee", "S3 sync configured, Glacier lifecycle pending")
    # Two critical ones, so the blockers show every kind: failing, partial, unconfigured, unsigned.
    attest(config, "O-012", "fail", "Ann Lee", "Restore drill failed: the newest backup is 3d old")
    attest(config, "P-011", "partial", "Ann Lee", "Load test reached 70% of the expected peak")
    # Targets unset, so automated items are PENDING; S-007's env probe FAILs on an empty secret.
    proc, base = start_exporter(
        config, tmp_path / "exporter.log", env={"JWT_SECRET": "", "DATA_PATH": ""}
    )
    wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 60, "every item probed once")
    yield config, base
    proc.stop()


# The table's default order: by priority, and within it FAIL, PARTIAL, PENDING, PASS, N/A.
PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
STATUS_RANK = {"FAIL": 0, "PARTIAL": 1, "PENDING": 2, "PASS": 3, "N/A": 4}


def table(driver):
    """The item table as shown: (ID, priority, status) of each row, top to bottom."""
    return [
        tuple(row)
        for row in driver.execute_script(
            "return [...document.querySelectorAll('#items tbody tr.item')].map(r => "
            "[r.dataset.id, r.querySelector('.priority').textContent, "
            "r.querySelector('.status').textContent])"
        )
    ]


def top_to_bottom(driver, *selectors):
    """Whether the elements come in this order in the page (each one after the one before)."""
    return driver.execute_script(
        "const els = arguments[0].map(s => document.querySelector(s));"
        "return els.every(e => e) && els.slice(1).every((e, i) => "
        "els[i].compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING);",
        list(selectors),
    )


def click_sort(driver, wait, where, key, param):
    """Click the ``key`` sort link in ``where`` (th or .sorts) and wait for the sorted board."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f'{where} a.sort[data-sort="{key}"]').click()
    wait.until(lambda d: f"sort={param}" in d.current_url and d.find_elements(By.ID, "items"))


def set_dark(driver, dark):
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
    )


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
        # The banner says what blocks, each kind counted apart; 81 critical items, S-017 PASS.
        reason = driver.find_element(By.CSS_SELECTOR, ".banner .reason").text
        assert reason == (
            "1 critical item fails; 1 passes only in part; 65 are not configured yet; "
            "13 wait for a signature."
        )
        # Blockers first: failing, then waiting for variables, then for a signature; then the
        # categories and the table.
        assert top_to_bottom(
            driver,
            ".banner",
            "#blockers-failing",
            "#blockers-unconfigured",
            "#blockers-unsigned",
            "nav.cards",
            "#items",
        )
        assert not driver.find_elements(By.ID, "blockers-others")  # every item was probed once
        failing = driver.find_elements(By.CSS_SELECTOR, "#blockers-failing li")
        assert [li.get_attribute("data-id") for li in failing] == ["O-012", "P-011"]
        assert "Restore procedure tested (<1h RTO)" in failing[0].text
        assert "FAIL attested, signed by Ann Lee" in failing[0].text  # the summary
        assert "PARTIAL" in failing[1].text
        unconfigured = driver.find_element(By.ID, "blockers-unconfigured").text
        assert "Not configured yet 65" in unconfigured
        assert "Set APP_REPO to configure 23 items: S-002, S-003" in unconfigured
        unsigned = driver.find_element(By.ID, "blockers-unsigned")
        assert unsigned.text.startswith("Waiting for a signature 13")
        assert (
            'readiness-exporter attest ITEM --status pass --by "Your Name" '
            '--evidence "what you checked"'
        ) in unsigned.text
        assert "O-001 Zero-downtime deployment tested" in unsigned.text
        failing[0].find_element(By.TAG_NAME, "a").click()
        wait.until(lambda d: d.current_url.endswith("/items/O-012"))
        driver.back()
        wait.until(lambda d: d.find_elements(By.ID, "items"))

        # The table: by priority, and within it FAIL before PARTIAL before PENDING before PASS.
        shown = table(driver)
        assert len(shown) == 145
        ranks = [(PRIORITY_RANK[p], STATUS_RANK[s]) for _, p, s in shown]
        assert ranks == sorted(ranks)
        assert [i for i, _, _ in shown[:3]] == ["O-012", "P-011", "S-001"]
        assert driver.find_element(By.ID, "shown").text == "145 of 145 items"
        signed = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="S-017"]').text
        assert "PASS" in signed and "Jane Doe" in signed
        driver.save_screenshot(str(ARTIFACTS / "board.png"))

        # Sorting: a heading's link orders the table by it; again, the other way round.
        click_sort(driver, wait, "th", "status", "status")
        shown = table(driver)
        ranks = [(STATUS_RANK[s], PRIORITY_RANK[p]) for _, p, s in shown]
        assert ranks == sorted(ranks) and len(shown) == 145
        assert [i for i, _, _ in shown[:5]] == ["O-012", "S-006", "S-007", "P-011", "O-013"]
        assert driver.find_element(By.CSS_SELECTOR, "th[aria-sort]").text == "Status ▲"
        driver.save_screenshot(str(ARTIFACTS / "board-sorted.png"))  # scrolled to the table
        click_sort(driver, wait, "th", "status", "-status")
        assert [s for _, _, s in table(driver)][:2] == ["PASS", "PASS"]
        click_sort(driver, wait, "th", "id", "id")
        shown = [i for i, _, _ in table(driver)]
        assert shown[:3] == ["A-001", "A-002", "A-003"] and shown[-1] == "T-008"
        assert shown.index("DOC-002") < shown.index("DOC-010")  # numbers as numbers
        # The order is kept by the filters and by the self-refresh.
        driver.find_element(By.NAME, "critical").click()
        wait.until(lambda d: len(rows()) == 81)
        assert "sort=id" in driver.current_url
        assert [i for i, _, _ in table(driver)][:3] == ["A-001", "A-002", "A-005"]
        driver.execute_script("window.sameDocument = true")
        driver.execute_async_script("window.boardRefresh().then(arguments[0])")
        assert driver.execute_script("return window.sameDocument") is True
        assert [i for i, _, _ in table(driver)][:3] == ["A-001", "A-002", "A-005"]
        assert driver.find_element(By.CSS_SELECTOR, "th[aria-sort]").text == "ID ▲"
        driver.get(f"{base}/")

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
        assert [i for i, _, _ in table(driver)] == ["O-012", "P-011", "S-006", "S-007", "O-013"]

        # Probe now: sign T-001 off behind the exporter's back, then press the button (F-006..F-010
        # answer from the store's Sign-Off Sheet, not from files).
        driver.get(f"{base}/items/T-001")
        assert "PENDING" in driver.find_element(By.CSS_SELECTOR, ".result").text
        (config.parent / "attestations").mkdir(exist_ok=True)  # attest records in the store
        (config.parent / "attestations" / "T-001.yaml").write_text(
            textwrap.dedent("""\
            item: T-001
            status: pass
            validated_by: Eng Lead
            date: 2026-11-20
            evidence: [On-call rotation https://wiki.example/on-call]
            """)
        )
        driver.find_element(By.ID, "probe-button").click()
        section = wait.until(lambda d: d.find_elements(By.ID, "probe-now"))[0]
        assert "Probe now: PASS" in section.text
        assert "result PASS: PASS attested, signed by Eng Lead on 2026-11-20" in section.text
        assert "Eng Lead" in driver.find_element(By.CSS_SELECTOR, "dl.evidence").text
        driver.save_screenshot(str(ARTIFACTS / "item.png"))

        driver.get(f"{base}/?category=team")
        t001 = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="T-001"]')
        assert "PASS" in t001.text

        # Self-refresh: an attestation recorded meanwhile appears without a page load.
        driver.execute_script("window.sameDocument = true")
        attest(config, "T-002", "pass", "Ops Lead", "Runbooks reviewed")
        wait_until(
            lambda: '"status": "pass"' in http_get(f"{base}/api/v1/items/T-002")[1].decode(),
            20,
            "T-002 PASS on the exporter",
        )
        driver.execute_async_script("window.boardRefresh().then(arguments[0])")
        t002 = driver.find_element(By.CSS_SELECTOR, 'tr[data-id="T-002"]')
        assert "PASS" in t002.text and "Ops Lead" in t002.text
        assert driver.execute_script("return window.sameDocument") is True
        assert driver.find_element(By.ID, "shown").text == "8 of 145 items"  # filter kept

        # Dark: the page follows the system's colour scheme, blockers first as in light.
        def background():
            return driver.execute_script("return getComputedStyle(document.body).backgroundColor")

        driver.get(f"{base}/")
        light = background()
        set_dark(driver, True)
        assert background() != light
        assert top_to_bottom(driver, ".banner", "#blockers-failing", "#blockers-unsigned", "#items")
        driver.save_screenshot(str(ARTIFACTS / "board-dark.png"))
        set_dark(driver, False)

        # A phone: the table turns into labelled cards (no headings), still with the decision
        # and the blockers first, and sorted by the links above it.
        driver.set_window_size(390, 844)
        driver.get(f"{base}/?critical=1")
        assert driver.find_element(By.ID, "decision").is_displayed()
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 400
        assert not driver.find_element(By.CSS_SELECTOR, "#items thead").is_displayed()
        assert top_to_bottom(driver, ".banner", "#blockers-failing", "#blockers-unconfigured")
        assert [i for i, _, _ in table(driver)][:2] == ["O-012", "P-011"]
        driver.save_screenshot(str(ARTIFACTS / "board-phone.png"))
        click_sort(driver, wait, ".sorts", "status", "status")
        shown = table(driver)
        assert len(shown) == 81 and [s for _, _, s in shown][:2] == ["FAIL", "PARTIAL"]
        assert [s for _, _, s in shown][-1] == "PASS"
        click_sort(driver, wait, ".sorts", "category", "category")
        assert [i for i, _, _ in table(driver)][:2] == ["S-001", "S-002"]  # the checklist's order
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 400

        set_dark(driver, True)
        assert background() != light
        driver.get(f"{base}/?critical=1")
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
        without = driver.find_element(By.ID, "without-plan")
        listed = [a.text for a in without.find_elements(By.TAG_NAME, "a")]
        assert "S-006" in listed and "S-007" not in listed  # S-007 has its plan now
        assert f"{len(listed)} FAIL item" in without.text
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
