"""What changed since the last run (tier moves and their causes, input digests) and CRM-ready
columns, on hand-written frames."""

from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path

import pandas as pd
import pytest

from icpfit.serving.crm import CRMS, crm_fields, field_table, shorten, to_crm, utf16_length
from icpfit.serving.delivery import (
    ChangeTracker,
    DigestSpec,
    change_causes,
    changed_rows,
    compare_with_previous,
    input_digests,
    previous_scores,
    tier_changes,
)

README = Path(__file__).parents[2] / "README.md"


def scored(rows: list[tuple]) -> pd.DataFrame:
    """Scored rows: (account_id, fit_tier, fit_score, model_version, input_digest, error)."""
    frame = pd.DataFrame(
        rows,
        columns=["account_id", "fit_tier", "fit_score", "model_version", "input_digest", "error"],
    )
    return frame.assign(model_name="icp-fit", scored_at="2026-12-05T10:00:00+00:00")


def test_change_cause_for_each_combination_of_model_and_data():
    changed = pd.Series([True, True, True, True, True, True, True, False, False])
    model = pd.Series([True, False, True, True, False, False, None, True, False], dtype="boolean")
    data = pd.Series([False, True, True, None, None, False, True, True, None], dtype="boolean")
    causes = change_causes(changed, model, data)
    assert list(causes) == [
        "model",  # another version, the same inputs
        "data",  # the same version, other inputs
        "model and data",
        "model",  # a file from before digests: the version changed
        "unknown",  # a file from before digests: the same version
        "unknown",  # neither changed, yet the tier moved
        "unknown",  # the version before is not known
        None,  # not changed: no cause
        None,
    ]


def test_tier_change_orders_a_above_x_and_says_new_without_a_tier_before():
    now = pd.Series(["A", "D", "X", "C", "B", None])
    before = pd.Series(["B", "X", "D", "C", None, "A"])
    assert list(tier_changes(now, before)) == ["up", "up", "down", "same", "new", None]


def test_compare_with_previous_per_account():
    previous = previous_scores(
        scored(
            [
                ("a-model", "B", 70, "1", "d1", None),
                ("a-data", "A", 95, "1", "d2", None),
                ("a-same", "C", 40, "1", "d3", None),
                ("a-both", "D", 10, "1", "d4", None),
                ("a-same", "A", 99, "1", "d3", None),  # a repeated id: the first row counts
                ("was-error", None, None, "1", "d6", "employees: 'x' is not a number"),
                ("dropped", "B", 60, "1", "d7", None),
            ]
        )
    )
    now = scored(
        [
            ("a-model", "A", 92, "2", "d1", None),
            ("a-data", "C", 50, "2", "d2-changed", None),
            ("a-same", "C", 43, "2", "d3", None),
            ("a-both", "B", 80, "2", "d4-changed", None),
            ("was-error", "C", 45, "2", "d6", None),
            ("fresh", "A", 97, "2", "d8", None),
            ("broken", None, None, "2", "d9", "employees: 'y' is not a number"),
        ]
    ).assign(model_version=["2", "1", "2", "2", "2", "2", "2"])
    given = now.copy()
    out = compare_with_previous(now, previous).set_index("account_id")
    pd.testing.assert_frame_equal(now, given)  # the caller's frame is not changed
    assert list(out["previous_tier"]) == ["B", "A", "C", "D", None, None, None]
    assert list(out["tier_change"]) == ["up", "down", "same", "up", "new", "new", None]
    assert list(out["score_change"].astype(object)) == [22, -45, 3, 70, pd.NA, pd.NA, pd.NA]
    assert list(out["change_cause"]) == [
        "model",
        "data",
        None,
        "model and data",
        None,
        None,
        None,
    ]
    kept = changed_rows(out.reset_index())
    assert list(kept["account_id"]) == [
        "a-model",
        "a-data",
        "a-both",
        "was-error",
        "fresh",
        "broken",
    ]


def test_a_previous_file_without_digests_puts_changes_down_to_the_model_or_unknown():
    previous = previous_scores(
        scored([("m", "B", 70, "1", None, None), ("d", "B", 70, "1", None, None)]).drop(
            columns="input_digest"
        )
    )
    now = scored([("m", "A", 90, "2", "x", None), ("d", "A", 90, "1", "y", None)])
    assert list(compare_with_previous(now, previous)["change_cause"]) == ["model", "unknown"]


def test_tracker_counts_changes_causes_and_dropped_accounts_over_batches():
    previous = previous_scores(
        scored([("a", "B", 70, "1", "d", None), ("b", "C", 40, "1", "d", None)]).pipe(
            lambda f: pd.concat([f, scored([("gone", "A", 99, "1", "d", None)])])
        )
    )
    tracker = ChangeTracker(previous)
    tracker(scored([("a", "A", 90, "1", "e", None)]))
    tracker(scored([("b", "C", 41, "1", "d", None), ("new", "D", 5, "1", "f", None)]))
    assert dict(tracker.changes) == {"up": 1, "same": 1, "new": 1}
    assert dict(tracker.causes) == {"data": 1}
    assert tracker.dropped() == 1


def test_digest_reads_values_not_their_spelling_and_ignores_undeclared_columns():
    spec = DigestSpec(("employees", "industry", "tech_stack"), "tech_stack", ";")
    as_text = pd.DataFrame(
        {
            "employees": ["50", " 120 ", None],
            "industry": ["Software", "Retail ", ""],
            "tech_stack": ["dbt; Snowflake", "HubSpot", None],
            "owner": ["ana", "bo", "cy"],
        }
    )
    typed = pd.DataFrame(
        {
            "industry": ["Software", "Retail", None],
            "employees": [50.0, 120, float("nan")],
            "tech_stack": ["Snowflake;dbt;dbt", "HubSpot", ""],
            "owner": ["someone else", "bo", "cy"],
        }
    )
    digests = input_digests(as_text, spec)
    assert list(digests) == list(input_digests(typed, spec))
    assert all(re.fullmatch(r"[0-9a-f]{16}", d) for d in digests)
    moved = input_digests(as_text.assign(employees=["51", " 120 ", None]), spec)
    assert list(moved != digests) == [True, False, False]
    absent = input_digests(as_text.drop(columns="tech_stack"), spec)
    assert absent[2] == digests[2] and absent[0] != digests[0]  # an absent column reads as blank


def test_digest_is_the_documented_sha256_of_names_and_canonical_values():
    spec = DigestSpec(("employees", "industry", "tech_stack"), "tech_stack", ";")
    row = pd.DataFrame({"industry": [" Software"], "employees": ["50"], "tech_stack": ["b;a"]})
    bits = struct.unpack("<Q", struct.pack("<d", 50.0))[0]
    text = f"employees\x1findustry\x1ftech_stack\n\x1f{bits}\x1fSoftware\x1fa;b"
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    assert input_digests(row, spec)[0] == expected


def test_texts_are_cut_to_the_salesforce_length_with_an_ellipsis():
    assert shorten("short", 255) == "short"
    long = "Employees 240 — in the range of best customers " * 10
    cut = shorten(long, 255)
    assert 250 <= len(cut) <= 255 and cut.endswith("…") and long.startswith(cut[:-1])
    emoji = "😀" * 200  # 400 UTF-16 units: Salesforce counts each as two characters
    assert utf16_length(shorten(emoji, 255)) <= 255 and shorten(emoji, 255).endswith("…")


def test_salesforce_and_hubspot_columns_are_named_and_typed_as_documented():
    rows = scored([("001A", "B", 71, "3", "d", None), ("001B", None, None, "3", "e", "x" * 300)])
    rows = rows.assign(
        fit_probability=[0.123456, None],
        data_coverage=[0.8, None],
        reason_1=["Uses dbt", None],
        risk_1=["r" * 300, None],
    )
    salesforce, cut = to_crm(rows, CRMS["salesforce"], "Id")
    expected = ["Id", *(f for _, (f, _, _) in crm_fields(CRMS["salesforce"], list(rows.columns)))]
    assert list(salesforce.columns) == expected and "ICP_Reason_1__c" in expected
    assert list(salesforce["ICP_Fit_Score__c"].astype(object)) == [71, pd.NA]
    assert salesforce["ICP_Fit_Probability__c"][0] == 12.35
    assert salesforce["ICP_Data_Coverage__c"][0] == 80
    assert list(salesforce["ICP_Scored_At__c"]) == ["2026-12-05T10:00:00Z"] * 2
    assert cut == 2 and len(salesforce["ICP_Scoring_Error__c"][1]) == 255
    hubspot, cut = to_crm(rows, CRMS["hubspot"], "account_id")
    assert hubspot["icp_scored_at"][0] == 1796464800000 and cut == 0
    assert hubspot["icp_scoring_error"][1] == "x" * 300


def test_every_salesforce_name_is_a_valid_custom_field_and_hubspot_names_are_lowercase():
    columns = [c.format(k=9) for c in CRMS["salesforce"].fields]
    for _, (name, _, _) in crm_fields(CRMS["salesforce"], columns):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", name) and len(name) - 3 <= 40
        assert "__" not in name.removesuffix("__c")
    for _, (name, _, _) in crm_fields(CRMS["hubspot"], columns):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name)


@pytest.mark.parametrize("crm", sorted(CRMS))
def test_readme_tables_are_the_mapping(crm):
    assert field_table(CRMS[crm]) in README.read_text(encoding="utf-8")
