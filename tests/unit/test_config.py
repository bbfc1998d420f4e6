"""The config file: one frozen model; every problem names the file, the key and what is allowed."""

from __future__ import annotations

import pydantic
import pytest

from icpfit.config import ConfigError, load_config

VALID = """\
data: {accounts: companies.csv, opportunities: deals.parquet, revenue: billing.csv}
columns:
  opportunities: {opportunity_id: DealId, close_date: Closed}
stages: {won: [Closed Won], lost: [Closed Lost], open: [Negotiation]}
as_of: 2026-09-30
disqualifiers:
  - {column: business_model, equals: B2C, reason: B2C business model}
  - {column: country, not_in: [US, CA], reason: Not served}
"""


def write(tmp_path, text):
    path = tmp_path / "icpfit.yaml"
    path.write_text(text)
    return path


def test_valid_config_is_frozen_and_resolves_paths(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.path_of("accounts") == tmp_path / "companies.csv"
    assert config.column_map("opportunities")["close_date"] == "Closed"
    assert config.stages.outcome_of()["closed won"] == "won"
    assert config.disqualifiers[1].not_in == ("US", "CA")
    with pytest.raises(pydantic.ValidationError):
        config.labels.window_months = 6


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "labels: {window_month: 6}",
            "icpfit.yaml: labels.window_month: unknown key; allowed: min_expansion, mode, "
            "top_ltv_share, window_months",
        ),
        (
            "labels: {window_months: twelve}",
            "icpfit.yaml: labels.window_months: Input should be a valid integer",
        ),
        (
            "labels: {top_ltv_share: 1.5}",
            "icpfit.yaml: labels.top_ltv_share: Input should be less than 1 (got 1.5)",
        ),
        ("tiers: {A: 0.5, B: 0.3, C: 0.3}", "icpfit.yaml: tiers: A + B + C must be below 1"),
        ("colour: blue", "icpfit.yaml: colour: unknown key; allowed: as_of, columns, data"),
        (
            "columns: {revenue: {amount: X}}",
            "icpfit.yaml: columns: revenue: unknown column amount; allowed: account_id, month, mrr",
        ),
        ("model: {params: 3}", "icpfit.yaml: model.params: Input should be a valid dictionary"),
    ],
)
def test_bad_config_names_file_key_and_what_is_allowed(tmp_path, extra, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID + extra + "\n"))
    assert expected in str(info.value)


def test_disqualifier_needs_exactly_one_condition(tmp_path):
    text = VALID.replace("equals: B2C,", "equals: B2C, less_than: 3,")
    with pytest.raises(ConfigError, match=r"disqualifiers\.0: set exactly one of"):
        load_config(write(tmp_path, text))


def test_stage_listed_twice_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="'Closed Won' is listed under both won and lost"):
        load_config(write(tmp_path, VALID.replace("lost: [Closed Lost]", "lost: [Closed Won]")))


def test_missing_and_unparseable_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "data: [unclosed"))


def test_table_paths_must_be_csv_or_parquet(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.revenue: 'billing.xlsx' must end in .csv"):
        load_config(write(tmp_path, VALID.replace("billing.csv", "billing.xlsx")))
