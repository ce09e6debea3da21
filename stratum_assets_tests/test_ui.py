"""The Dagster UI in a real browser: asset graph, scan_results partitions, audit_report checks.

A fresh project home is built with the README's own command (``stratum-assets run`` on the
offline GitHub), then ``dagster-webserver`` serves it on loopback and Debian's Chromium,
driven headless through chromedriver, loads the pages a user opens first. Each page is
asserted on what it shows and saved as a screenshot: into a temporary folder of the test run
by default, and into docs/screenshots/ (the README's images, committed) only when the
environment variable ``STRATUM_UPDATE_SCREENSHOTS=1`` is set, e.g.
``STRATUM_UPDATE_SCREENSHOTS=1 python -m pytest stratum_assets_tests/test_ui.py``.
"""

import contextlib
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from stratum_assets_tests.support.loopback import free_port, wait_for_dagster_ui

from .conftest import BIN, chromium, copy_of_clean_build, require_chromium

pytestmark = pytest.mark.slow  # builds whole project homes and runs servers


@pytest.fixture(scope="module")
def built_home(tmp_path_factory, clean_build) -> tuple[Path, dict[str, str]]:
    """A project root after the README's main command: its data, its instance, its environment (a copy of the
    session's clean build: the last test here materializes the audit again)."""
    home = tmp_path_factory.mktemp("ui") / "home"
    return home, copy_of_clean_build(clean_build, home)


@pytest.fixture(scope="module")
def webserver(built_home):
    require_chromium()
    home, env = built_home
    port = free_port()
    # The code location from the project's workspace.yaml, as `dagster-webserver -w workspace.yaml` loads it.
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_dagster_ui(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(webserver):
    with chromium("1600,1000") as driver:
        yield driver


def _show(browser, url: str, *texts: str, timeout: float = 60) -> str:
    """Open ``url`` and wait until every text is on the page; returns the page's visible text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, timeout).until(lambda d: all(t in d.find_element(By.TAG_NAME, "body").text for t in texts))
    _dismiss_community_dialog(browser)
    return browser.find_element(By.TAG_NAME, "body").text


def _dismiss_community_dialog(browser, settle: float = 3.0) -> None:
    """The "Join the Dagster community" dialog pops up a moment after a page loads; it would cover the shot."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        for button in browser.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
            with contextlib.suppress(WebDriverException):  # gone or animating: look again
                button.click()
        time.sleep(0.3)
    assert "Join the Dagster community" not in browser.find_element(By.TAG_NAME, "body").text


def _screenshot(browser, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(folder / name))
    assert (folder / name).stat().st_size > 10_000


def test_asset_graph_shows_the_four_stages(webserver, browser, screenshots):
    text = _show(browser, f"{webserver}/asset-groups", "Global asset lineage", "discovery", "scanning", "audit")
    lines = text.splitlines()
    groups = {lines[i]: lines[i + 1] for i in range(len(lines) - 1) if lines[i + 1].isdigit()}
    assert groups == {"discovery": "10", "manifest": "1", "scanning": "3", "audit": "3"}, groups
    _screenshot(browser, screenshots, "asset-graph.png")


def test_scanning_group_shows_partitions_filled_and_checks_passed(webserver, browser, screenshots):
    text = _show(
        browser,
        f"{webserver}/locations/stratum_assets/asset-groups/scanning",
        "scan_results",
        "pipeline_run_log",
        "100% filled",
    )
    assert text.count("1 / 1 Passed") == 1  # scan_results: every_repo_accounted_for
    assert text.count("2 / 2 Passed") == 1  # pipeline_run_log: zero_silent_drops, one_scanner_per_version
    _screenshot(browser, screenshots, "scanning-group.png")


def test_scan_results_partitions_are_all_materialized(webserver, browser, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = _show(browser, f"{webserver}/assets/scan_results?view=partitions", "v1-c0000", "Materialized (")
    assert "Failed (0)" in text and "Missing (0)" in text
    browser.find_element(By.XPATH, "//*[normalize-space()='v1-c0000']").click()
    WebDriverWait(browser, 30).until(  # the partition's own materialization metadata
        lambda d: all(k in d.find_element(By.TAG_NAME, "body").text for k in ("manifest_rows", "repos_per_min"))
    )
    _dismiss_community_dialog(browser, settle=1.0)
    _screenshot(browser, screenshots, "scan-results-partitions.png")


def test_audit_report_checks_show_the_eight_gates(webserver, browser, screenshots):
    text = _show(browser, f"{webserver}/assets/audit_report?view=checks", "Checks (8)", *(f"G{i}" for i in range(1, 9)))
    assert "measured" in text and "threshold" in text and "profile" in text
    _screenshot(browser, screenshots, "audit-report-checks.png")


def test_keep_audit_fresh_sensor_is_listed_and_on(webserver, browser, screenshots):
    from selenium.webdriver.common.by import By

    _show(browser, f"{webserver}/automation", "keep_audit_fresh", "Automation condition sensor")
    # The list is virtualized: each sensor is a row (div[data-index]) holding a selection checkbox before the
    # sensor's link and its on/off toggle after it.
    link = "a[contains(@href, '/sensors/keep_audit_fresh')]"
    (row,) = browser.find_elements(By.XPATH, f"//div[@data-index][.//{link}]")
    assert "keep_audit_fresh" in row.text and "Automation condition sensor" in row.text
    after_link = row.find_elements(By.XPATH, f".//{link}/following::input[@type='checkbox']")
    (toggle,) = [box for box in row.find_elements(By.CSS_SELECTOR, "input[type=checkbox]") if box in after_link]
    assert toggle.is_selected(), "keep_audit_fresh's toggle is on by default"
    _screenshot(browser, screenshots, "automation.png")


# Last in the module: it re-materializes the audit the screenshots above show.
def test_the_design_cards_command_typed_as_written_materializes_the_audit(built_home):
    """`dagster asset materialize --select audit_report`, literally, from the project root after the build."""
    home, env = built_home
    env = {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}  # the project's venv, as when it is active
    report = home / "data" / "dataset_audit_report.md"
    built = report.stat().st_mtime_ns
    listed = subprocess.run(
        "dagster asset list", shell=True, cwd=home, env=env, capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert {"audit_report", "repo_manifest", "scan_results"} <= set(listed.stdout.split())

    out = subprocess.run(
        "dagster asset materialize --select audit_report",
        shell=True,
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert "RUN_SUCCESS" in log and report.stat().st_mtime_ns > built, "the report was written again"
    evaluated = set(re.findall(r"Asset check '(G\d)' on 'audit_report' passed", log))
    assert evaluated == {f"G{n}" for n in range(1, 9)}, log[-3000:]

    gates = subprocess.run(
        [str(BIN / "stratum-assets"), "gates"], cwd=home, env=env, capture_output=True, text=True, timeout=300
    )
    assert gates.returncode == 0, gates.stdout + gates.stderr[-2000:]
    lines = {line.split()[1]: line.split()[0] for line in gates.stdout.splitlines()}
    assert {lines[f"audit_report:G{n}"] for n in range(1, 9)} == {"PASS"}
    assert lines["pipeline_run_log:zero_silent_drops"] == "PASS"
