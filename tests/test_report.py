"""Balance tables, figures, the HTML report in a real browser, and small-cell suppression."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reimpact.config.study import Study, load_study
from reimpact.diagnostics.balance import balance_table, ecdf_differences, smd_scale, weighted_variance
from reimpact.io import write_table
from reimpact.pipeline import run_study

STUDIES = Path(__file__).parents[1] / "studies"
SECTIONS = (
    "summary",
    "study",
    "sample",
    "warnings",
    "overlap",
    "balance",
    "table1",
    "effects",
    "sensitivity",
    "limitations",
    "provenance",
)
# what sticks out of its section, and what overflows without scrolling by design (the tags in
# arguments[0]: on screen, tables and code blocks scroll inside their section; in print nothing)
OVERFLOWS = """
const scrolls = arguments[0], out = [];
for (const section of document.querySelectorAll('section')) {
  const box = section.getBoundingClientRect();
  for (const el of section.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || el.closest('table, pre') !== el && el.closest('table, pre')) continue;
    const what = section.id + ' ' + el.tagName + ' ' + (el.textContent || '').slice(0, 40);
    if (r.right > box.right + 1 || r.left < box.left - 1) out.push('sticks out: ' + what);
    if (!scrolls.includes(el.tagName) && el.scrollWidth > el.clientWidth + 1
        && el.clientWidth > 0) out.push('overflows: ' + what);
  }
}
const page = document.documentElement;
if (page.scrollWidth > page.clientWidth) out.push('the page scrolls sideways');
return out;
"""


@pytest.fixture(scope="module")
def orion(tmp_path_factory):
    out = tmp_path_factory.mktemp("orion")
    return run_study(load_study(STUDIES / "orion_mentoring.yaml"), out_dir=out), out


def test_balance_matches_a_hand_calculation():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "g": ["a", "b", "a", "b", "a", "a"]})
    t = np.array([1, 1, 1, 0, 0, 0])
    w = np.array([1.0, 1.0, 1.0, 2.0, 1.0, 0.0])
    table = balance_table(frame, ["x", "g"], ["g"], t, {"weighted": w}, "ATT", min_cell_size=1)
    rows = table.to_frame().set_index(["covariate", "sample"])
    # unadjusted x: treated mean 2, control mean 5, treated SD 1 -> SMD -3
    assert rows.loc[("x", "unadjusted"), "smd"] == pytest.approx(-3.0)
    assert rows.loc[("x", "unadjusted"), "variance_ratio"] == pytest.approx(1.0)
    # weighted x: control mean (2*4 + 1*5) / 3 = 13/3, same denominator (treated SD, unadjusted)
    assert rows.loc[("x", "weighted"), "mean_control"] == pytest.approx(13 / 3)
    assert rows.loc[("x", "weighted"), "smd"] == pytest.approx(2 - 13 / 3)
    # weighted control variance with reliability weights: sum w (x - m)^2 / (W - sum w^2 / W)
    m = 13 / 3
    expected = (2 * (4 - m) ** 2 + (5 - m) ** 2) / (3 - 5 / 3)
    assert weighted_variance(np.array([4.0, 5.0]), np.array([2.0, 1.0])) == pytest.approx(expected)
    # categorical level g=a: treated share 2/3, control share 2/3 -> SMD 0 before adjustment
    assert rows.loc[("g=a", "unadjusted"), "smd"] == pytest.approx(0.0)
    assert rows.loc[("g=a", "unadjusted"), "type"] == "binary"
    # eCDFs on {1..6}: treated 1/3, 2/3, 1, 1, 1, 1; control 0, 0, 0, 1/3, 2/3, 1
    mean_gap, max_gap = ecdf_differences(frame["x"].to_numpy(), t, np.ones(6))
    assert max_gap == pytest.approx(1.0)
    assert mean_gap == pytest.approx((1 / 3 + 2 / 3 + 1 + 2 / 3 + 1 / 3 + 0) / 6)
    # the SMD denominator follows the estimand
    x = frame["x"].to_numpy()
    assert smd_scale(x, t, "ATC") == pytest.approx(1.0)
    assert smd_scale(x, t, "ATE") == pytest.approx(1.0)
    assert table.effective_n["weighted"]["control"] == pytest.approx(9 / 5)


def test_lalonde_before_matching_matches_dehejia_wahba_table_1():
    """Means of the NSW treated (185) and CPS (15,992) samples as published by Dehejia & Wahba
    (1999, Table 1), and SMDs standardised by the treated SD (cobalt's ATT rule)."""
    from test_estimators import lalonde

    frame, _ = lalonde()
    covariates = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
    t = frame.treat.to_numpy().astype(int)
    table = balance_table(frame, covariates, [], t, {}, "ATT").to_frame().set_index("covariate")
    published = {  # covariate: (NSW treated mean, CPS mean, rounding)
        "age": (25.82, 33.23, 0.01),
        "educ": (10.35, 12.03, 0.01),
        "black": (0.84, 0.07, 0.01),
        "hisp": (0.06, 0.07, 0.01),
        "marr": (0.19, 0.71, 0.01),
        "nodegree": (0.71, 0.30, 0.01),
        "re74": (2096, 14017, 1),
        "re75": (1532, 13651, 1),
    }
    for name, (treated, control, rounding) in published.items():
        row = table.loc[name]
        assert row.mean_treated == pytest.approx(treated, abs=rounding / 2 + 1e-9), name
        assert row.mean_control == pytest.approx(control, abs=rounding / 2 + 1e-9), name
        sd = frame.loc[frame.treat == 1, name].std()
        assert row.smd == pytest.approx((treated - control) / sd, abs=rounding / sd + 0.005), name
    assert table.loc["re74", "smd"] < -2  # the CPS comparison group is far from the treated


def test_balance_in_results_json(orion):
    results, out = orion
    payload = json.loads((out / "results.json").read_text())
    rows = payload["balance"]["rows"]
    samples = {r["sample"] for r in rows}
    assert samples == {"unadjusted", "matched", "weighted"}
    age = [r for r in rows if r["covariate"] == "age"]
    assert {"smd", "variance_ratio", "ecdf_mean", "ecdf_max", "smd_flag", "variance_flag"} <= set(age[0])
    # matching and weighting improve the worst covariate
    frame = results.balance.to_frame()
    worst = frame[frame["sample"] == "unadjusted"].smd.abs().max()
    for sample in ("matched", "weighted"):
        assert frame[frame["sample"] == sample].smd.abs().max() < worst


def test_report_files(orion):
    _, out = orion
    figures = out / "figures"
    for name in (
        "love_plot",
        "overlap",
        "ecdf",
        "effects_forest",
        "rosenbaum_gamma",
        "ovb_contour",
        "dml_contour",
        "subgroup_forest",
    ):
        assert (figures / f"{name}.png").stat().st_size > 10_000
        assert (figures / f"{name}.svg").read_text().lstrip().startswith("<?xml")
    html = (out / "report.html").read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert html.count("data:image/png;base64,") == 8
    assert "dowhy" in html and "study_sha256" in html


def test_report_names_stay_importable_from_their_modules():
    """report/html.py and report/figures.py were split into modules; what callers import from
    them still resolves there, and is the same object as in its new module."""
    import reimpact.report.figures as figures
    from reimpact.report import draw_figures, figure, prepare_output, write_report
    from reimpact.report.figures.cells import safe_grid
    from reimpact.report.html import render, sensitivity_section
    from reimpact.report.sections.sensitivity import sensitivity_section as section

    assert all(callable(f) for f in (draw_figures, figure, prepare_output, write_report, render))
    assert sensitivity_section is section and figures.safe_grid is safe_grid
    for name in ("love_plot", "overlap_plot", "ecdf_plot", "forest_plot", "gamma_plot", "save"):
        assert callable(getattr(figures, name)), name


def _effects(scales: dict[str, float], methods=("naive", "psm", "ipw", "aipw")) -> pd.DataFrame:
    """Made-up effects: every outcome x method, an estimate of 10 standard errors."""
    rows = []
    for outcome, se in scales.items():
        for k, method in enumerate(methods):
            estimate, half = (10 + k) * se, 1.96 * se
            rows.append({"outcome": outcome, "method": method, "estimate": estimate, "std_error": se,
                         "ci_lower": estimate - half, "ci_upper": estimate + half})  # fmt: skip
    return pd.DataFrame(rows)


def _panel_outcomes(fig) -> list[list[str]]:
    """The outcomes (bold tick labels) of each panel of a forest plot, top to bottom."""
    return [
        [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"] for ax in fig.axes
    ]


def test_outcomes_on_different_scales_get_panels_of_their_own():
    """A 1-5 rating beside 0-1 scores: two panels, each axis naming its scale; scores alone: one."""
    from reimpact.report.figures import forest_plot, group_by_scale, plt, subgroup_plot

    scales = {"composite_score": 0.0035, "economic_score": 0.0059, "satisfaction": 0.015}
    fig = forest_plot(_effects(scales), truth={"satisfaction": 0.15})
    assert _panel_outcomes(fig) == [["composite_score", "economic_score"], ["satisfaction"]]
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert all("outcome units" in label and "standard errors about" in label for label in labels)
    assert "0.0047" in labels[0] and "0.015" in labels[1]
    plt.close(fig)
    fig = forest_plot(_effects({"composite_score": 0.0035, "social_score": 0.005}))
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel().endswith("in the outcomes' units")
    plt.close(fig)
    # the order of the study is kept: panels by their first outcome, outcomes in order inside
    assert group_by_scale({"a": 1.0, "b": 0.1, "c": 0.9, "d": 0.2}) == [["a", "c"], ["b", "d"]]
    table = _effects(scales, methods=("aipw",)).assign(by="sex", level="female", status="estimated")
    fig = subgroup_plot(table)
    assert _panel_outcomes(fig) == [["composite_score", "economic_score"], ["satisfaction"]]
    plt.close(fig)


def test_methods_differ_by_marker_shape_as_well_as_colour():
    from reimpact.registry import METHODS
    from reimpact.report.figures import forest_plot, method_colour, method_marker, plt

    markers = [method_marker(m) for m in METHODS]
    assert len(set(markers)) == len(markers) and markers[0] == "o"  # registry order
    assert len({method_colour(m) for m in METHODS}) == len(METHODS)
    fig = forest_plot(_effects({"composite_score": 0.003}, methods=tuple(METHODS)))
    drawn = [line.get_marker() for line in fig.axes[0].lines if line.get_marker() not in ("None", "|")]
    assert drawn == markers
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [METHODS[m].label for m in METHODS]
    plt.close(fig)


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _check_legible(fig, name: str) -> None:
    """No legend over an axes or a note, no text under 7 pt, no wider than an A4 text width."""
    import io

    from matplotlib.text import Text

    from reimpact.report.figures import WIDTH, plt

    fig.savefig(io.BytesIO(), format="png", dpi=150, bbox_inches="tight")
    legends = [legend.get_window_extent() for legend in fig.legends]
    legends += [ax.get_legend().get_window_extent() for ax in fig.axes if ax.get_legend()]
    assert legends or name == "subgroups", name  # AIPW only: nothing to tell apart
    for legend in legends:
        assert not any(_overlaps(legend, ax.get_window_extent()) for ax in fig.axes), name
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip():
            assert text.get_fontsize() >= 7, (name, text.get_text())
    for note in fig.texts:
        assert not any(_overlaps(note.get_window_extent(), legend) for legend in legends), name
    box = fig.get_tightbbox()
    assert box.width <= WIDTH + 0.05, (name, box.width)
    plt.close(fig)


def test_figures_keep_legends_off_the_plot_and_text_legible_at_a4_width(orion):
    """Every figure of a run: no legend over an axes or a note, no text under 7 pt, no wider
    than an A4 text width (so nothing shrinks when a page is printed)."""
    from reimpact.report import FIGURES, figure

    results, _ = orion
    for name in FIGURES:
        if name in ("levels", "dose", "path"):  # a multi-valued treatment's, a dose's, a panel's
            # (the next test and tests/test_panel.py)
            continue
        _check_legible(figure(results, name), name)


def test_level_and_dose_figures_are_legible():
    """The per-level overlap figure and the dose-response curves of a dose study, by the same
    rules."""
    from reimpact.report import figure

    study = load_study(STUDIES / "activities_dose.yaml")
    results = run_study(study)
    for name in ("levels", "dose"):
        _check_legible(figure(results, name), name)


def _chromium():
    options_module = pytest.importorskip("selenium.webdriver")
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver must be installed in CI (make test does it)")
        pytest.skip("chromium and chromium-driver are not installed (make test installs them)")
    from selenium.webdriver.chrome.service import Service

    options = options_module.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options_module.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def _check_print(driver) -> None:
    """As printed to A4 (688 px: the text width of a page with 14 mm margins): no navigation,
    and nothing overflows, not even by scrolling."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.set_window_size(688, 900)
    bar = 688 - driver.execute_script("return document.documentElement.clientWidth")
    driver.set_window_size(688 + bar, 900)  # 688 px inside the scroll bar
    try:
        assert not driver.find_element("tag name", "nav").is_displayed()
        assert driver.execute_script(OVERFLOWS, []) == []
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        driver.set_window_size(1280, 900)


def test_report_in_a_real_browser(orion):
    """In headless Chromium at 1280x900: the page opens with the summary, every section and
    figure shows, every figure has alt text, nothing overflows its section sideways (nor when
    printed to A4), and the console has no errors (screenshot saved next to the report)."""
    _, out = orion
    driver = _chromium()
    try:
        driver.get((out / "report.html").resolve().as_uri())
        assert driver.execute_script("return window.innerWidth") == 1280
        first = driver.find_element("css selector", "section")
        assert first.get_attribute("id") == "summary"
        for section in SECTIONS:
            element = driver.find_element("id", section)
            assert element.is_displayed() and element.size["height"] > 30, section
        images = driver.find_elements("tag name", "img")
        assert len(images) == 8
        for image in images:
            assert (image.get_attribute("alt") or "").strip(), image.get_attribute("outerHTML")[:80]
            loaded = driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", image
            )
            assert loaded, image.get_attribute("alt")
        assert driver.execute_script(OVERFLOWS, ["TABLE", "PRE"]) == []
        _check_print(driver)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, height)
        assert driver.save_screenshot(str(out / "report_screenshot.png"))
    finally:
        driver.quit()
    assert (out / "report_screenshot.png").stat().st_size > 50_000


def test_a_country_with_five_returnees_appears_nowhere(tmp_path, study_dict, cohort):
    data = cohort.data[cohort.data.country.isin(["GIN", "SEN", "MAR"])].head(3000).copy()
    small = data.index[:5]
    data.loc[small, "country"] = "ZZZ"
    data.loc[small, "mentored"] = [1, 1, 1, 0, 0]
    data.loc[small, "education"] = "primary"
    path = write_table(data, tmp_path / "export.csv")
    study_dict["data"] = {"path": str(path)}
    study_dict["population"] = {"country": ["GIN", "SEN", "MAR", "ZZZ"]}
    study_dict["methods"] = {"psm": {}, "ipw": {}, "aipw": {}}
    study_dict["sensitivity"] = {"heterogeneity": {"by": ["country"]}}
    out = tmp_path / "out"
    run_study(Study.from_dict(study_dict), out_dir=out)

    payload = json.loads((out / "results.json").read_text())
    for row in payload["balance"]["rows"]:
        if "ZZZ" in row["covariate"]:
            assert set(row) == {"covariate", "source", "type", "sample", "suppressed"}
            assert row["suppressed"] is True
    for key in ("subgroups", "cate"):
        small = [r for r in payload["sensitivity"][key] if r["level"] == "ZZZ"]
        assert len(small) == 1
        labels = {"by": "country", "level": "ZZZ", "outcome": "composite_score", "status": "suppressed"}
        assert {k: small[0][k] for k in labels} == labels
        assert set(small[0]) - set(labels) <= {"n_treated", "n_control"}
        assert all(small[0][k] == "<10" for k in ("n_treated", "n_control") if k in small[0])
    text = json.dumps({k: v for k, v in payload.items() if k != "study"})
    assert text.count("ZZZ") == 5  # labels of 3 balance rows and 2 subgroup rows, nothing else

    html = (out / "report.html").read_text()
    rows = re.findall(r"<tr>(?:(?!</tr>).)*ZZZ(?:(?!</tr>).)*</tr>", html)
    assert rows, "the suppressed row is listed by name"
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        if "Population" in cells[0]:
            continue  # the study definition names the filter values
        numbers = [c for c in cells if re.search(r"\d", c)]
        assert not numbers, row
