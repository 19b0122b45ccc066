"""``djstruct report`` end to end in headless Chromium: scan a small library, build the report, open it
from ``file://`` and check that it lists, draws, plays and seeks, with a clean console.

Needs ``/usr/bin/chromium`` + ``/usr/bin/chromedriver`` (Debian ``chromium``, ``chromium-driver``) and
selenium; skipped without them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from djstruct.cli.main import cli
from djstruct.types import Cue

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
                                reason="needs /usr/bin/chromium and /usr/bin/chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium")

USER_CUES = (Cue("hot", 6.0, 0, None, "my intro", "#cc00cc"), Cue("hot", 41.5, 3, None, "my mix-in", "#00cccc"))
TIMEOUT_S = 20


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def built(short_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A scanned copy of the short corpus (the MP3 with two Serato hot cues of the user's) and its
    report."""
    from djstruct.library.serato.write import write_hot_cues

    root = tmp_path_factory.mktemp("report-e2e")
    lib = root / "My Music #1"  # a space and a '#' that the file:// URL must encode
    lib.mkdir()
    audio = sorted(p for p in short_corpus.iterdir() if p.suffix != ".json")
    for p in audio:
        shutil.copy(p, lib / p.name)
    mp3 = next(lib.glob("*.mp3"))
    write_hot_cues(mp3, USER_CUES)
    store, out = root / "store.sqlite", root / "report"
    r = run("scan", str(lib), "--store", str(store), "--workers", "1")
    assert r.exit_code == 0, r.output
    r = run("report", "--store", str(store), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert str((out / "index.html").resolve()) in r.output
    return {"lib": lib, "out": out, "files": sorted(p.name for p in lib.iterdir()), "mp3": mp3}


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="djstruct-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        drv.set_page_load_timeout(TIMEOUT_S)
        drv.set_script_timeout(TIMEOUT_S)
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(drv: Any) -> list[dict[str, Any]]:
    return [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]


def wait(drv: Any, js: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(drv, TIMEOUT_S, poll_frequency=0.05).until(lambda d: d.execute_script(js))


def test_library_table_lists_every_track(built: dict[str, Any], driver: Any) -> None:
    from selenium.webdriver.common.by import By

    driver.get((built["out"] / "index.html").resolve().as_uri())
    rows = driver.find_elements(By.CSS_SELECTOR, "#tracks tbody tr")
    assert len(rows) == len(built["files"]) == 3
    text = driver.find_element(By.ID, "tracks").text
    for name in built["files"]:
        assert name in text
    # "review first": lowest confidence first
    conf = [float(r.find_elements(By.TAG_NAME, "td")[0].get_attribute("data-v")) for r in rows]
    assert conf == sorted(conf)
    # sortable: BPM ascending, then descending
    driver.find_element(By.CSS_SELECTOR, 'th[data-key="bpm"]').click()
    bpms = driver.execute_script(
        "return Array.from(document.querySelectorAll('#tracks tbody tr')).map(r => parseFloat(r.cells[2].dataset.v))")
    assert bpms == sorted(bpms)
    driver.find_element(By.CSS_SELECTOR, 'th[data-key="bpm"]').click()
    bpms = driver.execute_script(
        "return Array.from(document.querySelectorAll('#tracks tbody tr')).map(r => parseFloat(r.cells[2].dataset.v))")
    assert bpms == sorted(bpms, reverse=True)
    assert console_errors(driver) == []


def test_track_pages_draw_play_and_seek(built: dict[str, Any], driver: Any,
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    from selenium.webdriver.common.by import By

    driver.get((built["out"] / "index.html").resolve().as_uri())
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#tracks tbody a")]
    assert len(links) == 3
    shots = tmp_path_factory.mktemp("report-screenshots")
    for href in links:
        driver.get(href)
        wait(driver, "return document.getElementById('plot').getAttribute('data-drawn') === '1'")
        data = json.loads(driver.find_element(By.ID, "track-data").get_attribute("textContent"))
        assert data["sections"] and data["cues"]
        n_sections = len(driver.find_elements(By.CSS_SELECTOR, "#plot .section"))
        assert n_sections == len(data["sections"]) > 0
        assert len(driver.find_elements(By.CSS_SELECTOR, "#plot .wave rect")) > 100
        assert len(driver.find_elements(By.CSS_SELECTOR, "#plot .energy polyline")) == 3
        planned = driver.find_elements(By.CSS_SELECTOR, "#plot .cue-marker.planned")
        existing = driver.find_elements(By.CSS_SELECTOR, "#plot .cue-marker.existing")
        assert planned
        if data["file"] == built["mp3"].name:
            assert sorted(float(e.get_attribute("data-t")) for e in existing) == pytest.approx(
                [c.start_s for c in USER_CUES], abs=0.01)

        # the file:// audio loads in Chromium (Debian's build decodes MP3, FLAC and AAC/M4A)
        state = wait(driver, "var a = document.getElementById('audio');"
                             "return (a.readyState >= 1 || a.error) ? [a.readyState, a.error && a.error.code, "
                             "a.duration, a.currentSrc] : null")
        assert state[3].startswith("file://") and "My%20Music%20%231" in state[3]
        if state[1] is None:
            assert state[2] == pytest.approx(data["duration_s"], abs=0.5)
        else:  # a Chromium without proprietary codecs cannot play AAC: the page says so, seeking still works
            assert data["file"].endswith(".m4a"), f"{data['file']}: media error {state[1]}"
            assert driver.find_element(By.ID, "audio-note").is_displayed()

        # click a cue's flag -> the audio seeks to the cue
        cue = planned[len(planned) // 2]
        t = float(cue.get_attribute("data-t"))
        cue.find_element(By.CSS_SELECTOR, "rect, polygon").click()
        now = wait(driver, f"var a = document.getElementById('audio');"
                           f"return Math.abs(a.currentTime - {t}) < 0.05 ? a.currentTime : null")
        assert now == pytest.approx(t, abs=0.05)
        assert float(driver.find_element(By.TAG_NAME, "body").get_attribute("data-seek")) == pytest.approx(t, abs=1e-3)
        if existing:  # and an existing (user) cue
            t2 = float(existing[-1].get_attribute("data-t"))
            existing[-1].find_element(By.CSS_SELECTOR, "rect, polygon").click()
            wait(driver, f"return Math.abs(document.getElementById('audio').currentTime - {t2}) < 0.05")

        # click a section band -> seeks to its start
        sec = driver.find_elements(By.CSS_SELECTOR, "#plot .section")[-1]
        t3 = float(sec.get_attribute("data-t"))
        sec.find_element(By.TAG_NAME, "rect").click()
        wait(driver, f"return Math.abs(document.getElementById('audio').currentTime - {t3}) < 0.05")
        # the playhead followed
        x = float(driver.find_element(By.CSS_SELECTOR, "#plot .playhead").get_attribute("x1"))
        assert x == pytest.approx(t3 / data["duration_s"] * 1200, abs=1.0)

        shot = shots / f"{data['page_id']}.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        print(f"screenshot: {shot}")
        assert console_errors(driver) == [], data["file"]


def test_colour_toggle_redraws_the_waveform(built: dict[str, Any], driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = next((built["out"] / "tracks").glob("*.html"))
    driver.get(page.resolve().as_uri())
    wait(driver, "return document.getElementById('plot').getAttribute('data-drawn') === '1'")
    fills = "return Array.from(document.querySelectorAll('#plot .wave rect')).map(r => r.getAttribute('fill'))"
    before = driver.execute_script(fills)
    Select(driver.find_element(By.ID, "colour-by")).select_by_value("section")
    after = driver.execute_script(fills)
    assert driver.find_element(By.ID, "plot").get_attribute("data-wave-mode") == "section"
    assert len(after) > 100 and before != after
    sections = json.loads(driver.find_element(By.ID, "track-data").get_attribute("textContent"))["sections"]
    assert set(after) <= {s["color"] for s in sections} | {"#9aa0ab"}  # section colours (+ muted outside)
    assert console_errors(driver) == []


def test_seeking_without_playable_audio(built: dict[str, Any], driver: Any, tmp_path: Path) -> None:
    """A track whose file is gone has no audio source: clicks still set currentTime and move the page."""
    import re

    from selenium.webdriver.common.by import By

    out = tmp_path / "report"
    shutil.copytree(built["out"], out)
    page = next((out / "tracks").glob("*.html"))
    page.write_text(re.sub(r' src="file://[^"]*"', "", page.read_text(encoding="utf-8")), encoding="utf-8")
    driver.get(page.resolve().as_uri())
    wait(driver, "return document.getElementById('plot').getAttribute('data-drawn') === '1'")
    assert driver.execute_script("return document.getElementById('audio').currentSrc") == ""
    cue = driver.find_elements(By.CSS_SELECTOR, "#plot .cue-marker")[-1]
    t = float(cue.get_attribute("data-t"))
    cue.find_element(By.CSS_SELECTOR, "rect, polygon").click()
    wait(driver, f"return Math.abs(document.getElementById('audio').currentTime - {t}) < 0.05")
    assert float(driver.find_element(By.TAG_NAME, "body").get_attribute("data-seek")) == pytest.approx(t, abs=1e-3)
    assert driver.find_element(By.ID, "pos").text != "0:00.0"
    assert console_errors(driver) == []


def test_a_change_inside_a_section_is_drawn_in_its_band(built: dict[str, Any], driver: Any, tmp_path: Path) -> None:
    """A page whose analysis has a change inside its first section draws one dashed line there, on
    top of the one section band, and the console stays clean."""
    import re

    from selenium.webdriver.common.by import By

    out = tmp_path / "report"
    shutil.copytree(built["out"], out)
    page = next((out / "tracks").glob("*.html"))
    html = page.read_text(encoding="utf-8")
    blob = re.search(r'(<script type="application/json" id="track-data">)(.*?)(</script>)', html, re.S)
    assert blob is not None
    data = json.loads(blob.group(2))
    first = data["sections"][0]
    t = round((first["start"] + first["end"]) / 2, 3)
    data["changes"] = [t]
    page.write_text(html[: blob.start(2)] + json.dumps(data) + html[blob.end(2):], encoding="utf-8")
    driver.get(page.resolve().as_uri())
    wait(driver, "return document.getElementById('plot').getAttribute('data-drawn') === '1'")
    marks = driver.find_elements(By.CSS_SELECTOR, "#plot .sections .change")
    assert [float(m.get_attribute("data-t")) for m in marks] == [t]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#plot .section")) == len(data["sections"])
    assert console_errors(driver) == []
