"""The pages icpfit writes, opened offline in a real headless browser (Debian's chromium): the
run report of `train --report`, compare.html of `compare`, and the work queue of `queue --html`.

Each page must load from its file with no console error, no uncaught exception, no failed
request and no request leaving the file; every image must decode; and each page must show what
it is for: the decision and the rule, both models' figures with their intervals, the features
that drifted (and only those), the SHAP summary with category levels by name. The pages come
from the session's registry (`tests/e2e/conftest.py`); nothing is trained here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from tests.browser import Rendered, chromium, render
from tests.e2e.cli import invoke
from tests.e2e.conftest import MODEL, Registry, use_store

SHARED = ("decision", "side-by-side", "curves", "migration", "drift", "importance")
SHARED += ("icp-filter", "shap")
RUN_ONLY = ("cohorts", "backtest", "folds", "recipe", "segments", "thresholds", "timing")
PSI = 0.005
"""compare's --psi-threshold: low enough that the session's mild drift flags some features."""


@dataclass(frozen=True)
class Pages:
    files: dict[str, Path]
    """run (v2's --report), first (v1's report.html as its run logged it), compare, queue."""
    artifacts: Path
    """v2's run artifacts (compare/, drift.csv) and compare's CSV tables (out/)."""
    industries: pd.Series
    """The export's industries, most frequent first."""


def _run_artifacts(registry: Registry, version: str, path: str, folder: Path) -> Path:
    run_id = registry.client().get_model_version(MODEL, version).run_id
    where = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=path, dst_path=str(folder / f"v{version}")
    )
    return Path(where)


@pytest.fixture(scope="module")
def pages(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Pages:
    folder = tmp_path_factory.mktemp("pages")
    accounts = pd.read_csv(registry.data / "accounts.csv", dtype=str)
    accounts.head(300).to_csv(folder / "accounts.csv", index=False)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(registry.root)
            use_store(patch, registry.uri)
            first = _run_artifacts(registry, "1", "report.html", folder)
            for path in ("compare", "drift.csv"):
                _run_artifacts(registry, "2", path, folder)
            invoke(
                *("compare", "--model-a", f"models:/{MODEL}/1", "--model-b"),
                *(f"models:/{MODEL}@challenger", "--input", folder / "accounts.csv"),
                *registry.inputs(),
                *("--psi-threshold", PSI, "--output", folder / "out"),
            )
            invoke(
                *("queue", "--config", registry.config, "--capacity", "25"),
                *("--output", folder / "queue.csv", "--html", folder / "queue.html"),
            )
    finally:
        mlflow.set_tracking_uri(None)
    files = {
        "run": registry.root / "reports" / "2026Q3.html",
        "first": first,
        "compare": folder / "out" / "compare.html",
        "queue": folder / "queue.html",
    }
    return Pages(files, folder, accounts["industry"].dropna().value_counts())


@pytest.fixture(scope="module")
def shown(pages: Pages) -> dict[str, Rendered]:
    with chromium() as browser:
        return {name: render(browser, path) for name, path in pages.files.items()}


@pytest.mark.parametrize("name", ["run", "first", "compare", "queue"])
def test_the_page_loads_offline_without_an_error_and_every_image_decodes(shown, name):
    page = shown[name]
    assert page.problems == [], page.problems
    assert [i["alt"] for i in page.images if i["width"] == 0] == []
    assert "not available" not in page.text


def _figures(metrics: pd.DataFrame, row: str, metric: str = "roc_auc") -> str:
    """'0.829 [0.751, 0.900]' (B − A: signed), as the page must show it."""
    sign = "+" if row == "B - A" else ""
    value, low, high = metrics.loc[row, [metric, f"{metric}_low", f"{metric}_high"]]
    return f"{value:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"


def _side_by_side(page: Rendered, metrics: pd.DataFrame, label_a: str, label_b: str) -> None:
    """Both versions' figures and the paired difference, each with its interval and the sample
    size, as the comparison's CSV holds them."""
    text = page.sections["side-by-side"]
    assert f"A: {label_a}" in text and f"B: {label_b}" in text
    for row in ("model A", "model B", "B - A"):
        for metric in ("roc_auc", "lift_top_decile"):
            assert _figures(metrics, row, metric) in text, (row, metric, text)
    assert re.search(r"On [\d,]+ accounts neither version trained on, [\d,]+ of them ideal", text)


def _industry_levels(page: Rendered, industries: pd.Series) -> None:
    """The SHAP summary colours industry by level name: its legend names the commonest ones."""
    shap = page.sections["shap"]
    assert len(page.images_in("shap")) >= 1
    assert "industry:" in shap, shap
    assert all(level in shap for level in industries.index[:3]), (industries.index[:3], shap)


def test_the_run_report_shows_the_decision_against_the_champion_and_what_moved(pages, shown):
    page = shown["run"]
    assert set(SHARED + RUN_ONLY + ("summary",)) <= set(page.sections), list(page.sections)
    decision = page.sections["decision"]
    assert "registered as challenger, not champion" in decision
    assert "--promote never (ROC-AUC: candidate" in decision  # the numbers it was decided on
    assert "The written promotion rule: promote only when" in decision

    compared = pages.artifacts / "v2" / "compare"
    metrics = pd.read_csv(compared / "holdout_metrics.csv").set_index("model")
    _side_by_side(page, metrics, "icp-fit v1 (@champion)", "this run (2026Q3)")
    assert len(page.images_in("curves")) == 4  # A and B on the holdout, then the backtest

    migration = pd.read_csv(compared / "tier_migration.csv")
    moved = int(migration.set_index("tier under A").to_numpy().sum()) - sum(
        int(migration.set_index("tier under A").loc[t, t]) for t in "ABCDX"
    )
    assert f"{moved:,} of " in page.sections["migration"]

    drift = pd.read_csv(pages.artifacts / "v2" / "drift.csv")
    assert not (drift["psi"] > 0.25).any(), "the session's exports do not drift"
    text = page.sections["drift"]
    assert f"None of the {len(drift)} features moved beyond PSI 0.25" in text
    assert f"The largest shift: {drift.loc[drift['psi'].idxmax(), 'feature']}" in text
    assert "drifted features" not in text  # no table of features that did not drift

    diff = pd.read_csv(compared / "icp_filter_diff.csv")
    assert diff["rule"].iloc[0] in page.sections["icp-filter"]
    assert "WHERE" in page.sections["icp-filter"]
    assert "mean |SHAP|" in page.sections["importance"]
    _industry_levels(page, pages.industries)
    assert "opportunities per 100 worked" in page.sections["timing"]


def test_a_first_version_report_says_plainly_what_it_has_no_champion_for(registry, shown):
    page = shown["first"]
    assert set(SHARED + RUN_ONLY) <= set(page.sections), list(page.sections)
    decision = registry.client().get_model_version(MODEL, "1").tags["decision"]
    lead = {"champion": "This version becomes the champion", "challenger": "not champion"}
    assert lead[decision] in page.sections["decision"]
    assert "best baseline" in page.sections["decision"]
    for section in ("side-by-side", "migration", "importance", "icp-filter"):
        assert "No champion yet" in page.sections[section], section
    assert "No previous champion" in page.sections["drift"]
    assert len(page.images_in("curves")) == 2  # the backtest's only


def test_compare_page_says_it_decides_nothing_and_shows_only_the_drifted_features(pages, shown):
    page = shown["compare"]
    assert set(SHARED + ("summary",)) <= set(page.sections), list(page.sections)
    assert not set(RUN_ONLY) & set(page.sections)
    decision = page.sections["decision"]
    assert "No promotion decision: compare only compares" in decision
    assert re.search(r"Read against that rule, B would (not )?replace A: ROC-AUC", decision)

    out = pages.artifacts / "out"
    metrics = pd.read_csv(out / "holdout_metrics.csv").set_index("model")
    _side_by_side(page, metrics, "icp-fit v1", "icp-fit v2 (@challenger)")
    assert len(page.images_in("curves")) == 2
    assert "needs an earlier snapshot" in page.sections["migration"]  # no --input-before

    drift = pd.read_csv(out / "feature_drift.csv")
    drifted = drift[drift["psi"] > PSI]["feature"].tolist()
    assert drifted, "the threshold is low enough for some features to drift"
    text = page.sections["drift"]
    assert f"{len(drifted)} of {len(drift)} features moved beyond PSI {PSI}" in text
    assert all(feature in text for feature in drifted)
    stable = drift[drift["psi"] <= PSI]["feature"]
    unmentioned = [f for f in stable if not any(f in name for name in drifted)]
    assert unmentioned and not any(feature in text for feature in unmentioned)

    assert len(page.images_in("importance")) == 1
    assert "rules kept" in page.sections["icp-filter"]
    _industry_levels(page, pages.industries)


def test_the_queue_page_lists_the_queue(pages, shown):
    page = shown["queue"]
    rows = pd.read_csv(pages.artifacts / "queue.csv", dtype={"account_id": str})
    assert page.title == "Work queue 2026-09-30" and "Who to call today" in page.text
    assert all(account in page.text for account in rows["account_id"])
