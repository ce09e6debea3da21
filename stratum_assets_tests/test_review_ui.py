"""The label audit's review page in a real browser: 100 pairs answered with the keyboard, a reload, a resume.

A small synthetic warehouse (stratum_assets_tests/support/synthetic_pings.py) gets its label-audit sample from the
asset itself; ``stratum-assets review`` serves it on loopback as a user starts it, and Debian's
Chromium, driven headless through chromedriver, answers every pair with the keyboard only. The
check then reads the reviews and must report exactly the answers given. Screenshots go to a
temporary folder, or to docs/screenshots/ (the README's) with ``STRATUM_UPDATE_SCREENSHOTS=1``.
"""

import subprocess
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from stratum_assets.assets.audit import label_audit_sample
from stratum_assets.audit import label_audit
from stratum_assets.resources import DataResource
from stratum_assets.storage.layout import Layout
from stratum_assets_tests.support.loopback import free_port
from stratum_assets_tests.support.synthetic_pings import generate

from .conftest import BIN, chromium, csv_rows

pytestmark = pytest.mark.slow  # runs a server and a browser


def _check(data: Path):
    resources = {"data": DataResource(root=str(data)), "duckdb": DuckDBResource(database=str(data / "stratum.duckdb"))}
    result = dg.materialize(
        [label_audit_sample],
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"label_audit_sample": {"config": {"profile": "full"}}}},
    )
    (check,) = result.get_asset_check_evaluations()
    return check


@pytest.fixture(scope="module")
def sampled(tmp_path_factory) -> Path:
    """A data directory of 2,000 synthetic repositories with its label-audit sample."""
    data = tmp_path_factory.mktemp("review") / "data"
    generate(Layout(data), 2000, seed=5, chunk_size=1000)
    assert _check(data).metadata["status"].value.startswith("awaiting review")
    return data


@pytest.fixture(scope="module")
def review_page(sampled):
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "stratum-assets"), "review", "--data", str(sampled), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/reviewers", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(review_page):
    with chromium("1500,1100") as driver:
        yield driver


def _text(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.TAG_NAME, "body").text


def _wait_for(browser, *texts: str, timeout: float = 20) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(lambda d: all(t in _text(d) for t in texts))
    return _text(browser)


def _keys(browser, keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(keys).perform()


def _shown(browser) -> tuple[int, str, str]:
    """(position shown, A's name, B's name) of the pair on the page."""
    from selenium.webdriver.common.by import By

    position = int(browser.find_element(By.ID, "position").text.split()[1])
    names = [browser.find_element(By.CSS_SELECTOR, f"#card-{s} h2 a").text for s in "ab"]
    return position, *names


def test_a_reviewer_answers_every_pair_with_the_keyboard_reloads_resumes_and_the_check_counts_it(
    sampled, review_page, browser, screenshots
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    pairs = label_audit.read_sample(sampled / "label_audit" / "sample.csv")
    served = urllib.request.urlopen(f"{review_page}/api/pairs", timeout=10).read()  # the cards the asset wrote
    for word in (b"risk_score", b"quintile", b"higher", b"score_gap", b"adjacent_quintile", b"any_lower"):
        assert word not in served, word
    by_position = dict(enumerate(sorted(pairs, key=lambda p: p["pair_id"]), start=1))
    lower = {"A": "B", "B": "A"}

    browser.get(review_page + "/")
    _wait_for(browser, "Your reviewer name")
    screenshots.mkdir(parents=True, exist_ok=True)
    browser.find_element(By.ID, "name").send_keys("ana", Keys.ENTER)
    _wait_for(browser, "reviewer: ana", "0 of 100 answered", "pair 1 of 100")
    cards = " ".join(browser.find_element(By.ID, f"card-{s}").text.lower() for s in "ab")
    assert not {"score", "quintile", "label", "scanner"} & set(cards.replace(":", " ").split())

    given = {}

    def answer(position: int, key: str, value: str):
        shown = _shown(browser)
        pair = by_position[position]
        assert shown == (position, pair["a_full_name"], pair["b_full_name"]), "the page shows the sample's pair"
        _keys(browser, key)
        given[pair["pair_id"]] = value
        _wait_for(browser, f"{len(given)} of 100 answered")

    answer(1, by_position[1]["higher"].lower(), by_position[1]["higher"])  # agrees, with a or b
    _keys(browser, "n")  # a note on pair 2
    browser.switch_to.active_element.send_keys("both run code; the other one also moves money")
    _keys(browser, Keys.ESCAPE)
    answer(2, "12"[lower[by_position[2]["higher"]] == "B"], lower[by_position[2]["higher"]])  # disagrees, digits
    answer(3, "c", "cannot tell")

    browser.refresh()  # resume where we stopped
    _wait_for(browser, "3 of 100 answered", "pair 4 of 100")
    _keys(browser, Keys.ARROW_LEFT + Keys.ARROW_LEFT)
    _wait_for(browser, "pair 2 of 100")
    assert (
        browser.find_element(By.ID, "notes").get_attribute("value") == "both run code; the other one also moves money"
    )
    assert "selected" in browser.find_element(By.ID, f"pick-{lower[by_position[2]['higher']]}").get_attribute("class")
    browser.save_screenshot(str(screenshots / "label-audit-review.png"))  # an answered pair with its note
    _keys(browser, "u")
    _wait_for(browser, "pair 4 of 100")

    for position in range(4, 101):  # the rest: every 6th the lower one, every 10th cannot tell
        higher = by_position[position]["higher"]
        value = "cannot tell" if position % 10 == 0 else lower[higher] if position % 6 == 0 else higher
        answer(position, {"A": "a", "B": "b", "cannot tell": "c"}[value], value)
    _wait_for(browser, "100 of 100 answered", "all 100 pairs answered")

    saved = {int(r["pair_id"]): r for r in csv_rows(sampled / "label_audit" / "reviews" / "ana.csv")}
    assert {p: r["answer"] for p, r in saved.items()} == given
    assert saved[by_position[2]["pair_id"]]["notes"] == "both run code; the other one also moves money"

    key = {p["pair_id"]: p for p in pairs}
    decided = [p for p, v in given.items() if v != "cannot tell"]
    agree = sum(given[p] == key[p]["higher"] for p in decided)
    check = _check(sampled)
    meta = {k: v.value for k, v in check.metadata.items()}
    assert (meta["agree"], meta["decided"], meta["cannot_tell"]) == (agree, len(decided), 100 - len(decided))
    assert meta["agreement"] == round(agree / len(decided), 4) and check.passed == (agree / len(decided) >= 0.8)
    for q in range(1, 6):
        in_q = [p for p in decided if key[p]["quintile"] == q]
        assert {str(k): v for k, v in meta["per_quintile"].items()}[str(q)]["agree"] == sum(
            given[p] == key[p]["higher"] for p in in_q
        )
