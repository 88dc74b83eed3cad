"""The annotation page in a real headless Chromium (Selenium and the system chromedriver), over the
real server started as ``rlaif annotate serve`` in a subprocess on a free 127.0.0.1 port.

Skipped with the reason when Selenium, ``chromium`` or ``chromedriver`` is missing (``.ci/run``
installs the Debian ``chromium`` and ``chromium-driver`` packages). Set ``RLAIF_SCREENSHOT`` to a
path to keep the 1280x800 screenshot (``docs/annotate.png`` is made that way).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SCRIPT_RESPONSE, write_pairs
from typer.testing import CliRunner

from rlaif.cli.app import app
from rlaif.data import latest_human_labels, read_human_labels

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no chromium/chromedriver on PATH: install the Debian packages chromium and "
    "chromium-driver (.ci/run does) to run the browser tests",
)
TOKEN = "Tk-9f2c41e7d3b8a6"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``rlaif annotate serve`` in a subprocess; :meth:`kill` sends SIGKILL, as a crash would."""

    def __init__(self, pairs: Path, out: Path, log: Path):
        self.pairs, self.out, self.log = pairs, out, log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "rlaif", "annotate", "serve", str(self.pairs)]
        command += ["--out", str(self.out), "--port", str(self.port), "--token", TOKEN]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(
        write_pairs(tmp_path / "pairs.jsonl"), tmp_path / "labels.jsonl", tmp_path / "server.log"
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _text(driver: webdriver.Chrome, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def _open(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )


def _press(driver: webdriver.Chrome, key: str, completed: int | None = None) -> None:
    driver.find_element(By.TAG_NAME, "body").send_keys(key)
    if completed is not None:
        WebDriverWait(driver, 5).until(
            lambda d: _text(d, "completed") == f"{completed}/6 completed"
        )


def _click_rating(driver: webdriver.Chrome, rating: int, completed: int) -> None:
    driver.find_element(By.CSS_SELECTOR, f"button.rate[data-rating='{rating}']").click()
    WebDriverWait(driver, 5).until(lambda d: _text(d, "completed") == f"{completed}/6 completed")


def _set_viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    """Size the window so that the page itself gets ``width`` x ``height`` pixels."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])


def _no_alert(driver: webdriver.Chrome) -> bool:
    try:
        driver.switch_to.alert  # noqa: B018 (the property raises when there is none)
    except NoAlertPresentException:
        return True
    return False


def _requested_urls(driver: webdriver.Chrome) -> list[str]:
    urls = [
        json.loads(entry["message"])["message"]["params"]["request"]["url"]
        for entry in driver.get_log("performance")
        if '"Network.requestWillBeSent"' in entry["message"]
    ]
    urls += driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return urls


def test_two_annotators_label_six_pairs_with_keyboard_and_mouse_in_chromium(
    server: Server, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    _open(browser, f"{server.url}/?annotator=alice&token={TOKEN}")
    assert browser.current_url == f"{server.url}/?annotator=alice"  # the token left the URL
    assert (_text(browser, "completed"), _text(browser, "position")) == (
        "0/6 completed",
        "Sample 1 of 6",
    )
    assert "Overall harm" in browser.execute_script(
        "return document.getElementById('guidelines').textContent"
    )

    # alice: six pairs by keyboard, timed; each rating saves and moves to the next un-marked.
    started = time.monotonic()
    for done, key in enumerate("123412", start=1):
        if done == 3:  # the pair whose response holds <script> and a markdown image
            shown = {_text(browser, "left-text"), _text(browser, "right-text")}
            assert SCRIPT_RESPONSE in shown  # shown as its text
            assert browser.find_elements(By.CSS_SELECTOR, ".response script, .response img") == []
            assert _no_alert(browser)
        _press(browser, key, completed=done)
    keyboard_seconds = time.monotonic() - started
    assert keyboard_seconds < 10, f"labelling 6 pairs by keyboard took {keyboard_seconds:.1f} s"
    assert _text(browser, "status") == "All 6 samples completed."

    # Arrows move, and the mouse changes the first label (a new line; the latest wins).
    for _ in range(5):
        _press(browser, Keys.ARROW_LEFT)
    assert _text(browser, "position") == "Sample 1 of 6"
    _press(browser, Keys.ARROW_RIGHT)
    assert _text(browser, "position") == "Sample 2 of 6"
    browser.find_element(By.ID, "prev").click()
    browser.find_element(By.ID, "note").send_keys("a close call")
    _click_rating(browser, 3, completed=6)

    # Screenshots: 1280x800, then a narrow screen where the responses stack and nothing overflows.
    shot = Path(os.environ.get("RLAIF_SCREENSHOT") or tmp_path / "annotate.png")
    _press(browser, "n")  # every sample is marked: it stays
    browser.find_element(By.ID, "next").click()
    browser.find_element(By.ID, "next").click()
    _set_viewport(browser, 1280, 800)
    browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    _set_viewport(browser, 420, 900)
    left = browser.find_element(By.ID, "left").rect
    right = browser.find_element(By.ID, "right").rect
    assert right["y"] >= left["y"] + left["height"]
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    _set_viewport(browser, 1280, 800)

    # A post without the token is refused, from the page and from outside.
    refused = browser.execute_script(
        "return fetch('/api/labels', {method: 'POST', credentials: 'omit', headers: "
        "{'Content-Type': 'application/json'}, body: JSON.stringify({pair_id: 'p0', "
        "annotator: 'alice', rating: 1})}).then(r => r.status)"
    )
    assert refused == 401
    with pytest.raises(urllib.error.HTTPError) as refusal:
        urllib.request.urlopen(f"{server.url}/static/app.js", timeout=5)
    assert refusal.value.code == 401

    # bob: the same pairs; a kill -9 of the server half-way loses nothing, a reload resumes.
    _open(browser, f"{server.url}/?annotator=bob")
    assert _text(browser, "completed") == "0/6 completed"
    for done, key in enumerate("414", start=1):
        _press(browser, key, completed=done)
    server.kill()
    server.start()
    _open(browser, f"{server.url}/?annotator=bob")
    assert (_text(browser, "completed"), _text(browser, "position")) == (
        "3/6 completed",
        "Sample 4 of 6",
    )
    _click_rating(browser, 1, completed=4)
    _press(browser, "2", completed=5)
    browser.find_element(By.ID, "unacceptable").click()  # flagged before rating the last one
    _click_rating(browser, 4, completed=6)

    off_machine = [
        url for url in _requested_urls(browser) if not url.startswith((server.url + "/", "data:"))
    ]
    assert off_machine == []
    assert TOKEN not in server.log.read_text()

    lines = read_human_labels(server.out)
    assert [line.annotator for line in lines] == ["alice"] * 8 + ["bob"] * 6
    latest = latest_human_labels(lines)
    assert len(latest) == 12
    assert latest[("alice", "p0")].strength == "slightly"
    assert latest[("alice", "p0")].note == "a close call"
    assert latest[("bob", "p5")].both_unacceptable
    assert all(0 <= line.seconds < 60 for line in lines)
    print(f"labelling 6 pairs by keyboard: {keyboard_seconds:.2f} s")

    # Then `rlaif eval agreement` on these labels gives the annotators' kappa beside the judge's
    # agreement (the fake judge that always picks the first-shown reply).
    ids = [f"p{i}" for i in range(6)]
    agreed = sum(latest[("alice", p)].preferred == latest[("bob", p)].preferred for p in ids)
    out = tmp_path / "agreement"
    result = CliRunner().invoke(
        app,
        [
            *("eval", "agreement", "--judge", "fake/prefer-first", "--mode", "logprob"),
            *("--data", str(server.out), "--pairs", str(server.pairs), "--resamples", "100"),
            *("--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "human–human agreement" in result.output and "Cohen's kappa" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    human = metrics["human"]
    assert human["annotators"] == ["alice", "bob"] and human["labels_in_force"] == 12
    assert human["agreement_with_majority"]["value"] == pytest.approx(agreed / 6)
    assert human["tied_pairs"] == 6 - agreed and metrics["n_pairs"] == agreed
    assert human["cohen_kappa"]["value"] == pytest.approx(1.0)  # alice and bob agree on all six
