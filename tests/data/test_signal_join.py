"""`--signals FILE` gives a prospect the signal counts training gave it: the same 12-month window
up to the same date, from the same table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icpfit.config import config_from_dict
from icpfit.features.pipeline import prepare
from icpfit.features.problems import RawTable
from icpfit.features.sample import generate_sample
from icpfit.io import InputError
from icpfit.serving.pyfunc import IcpFitModel
from icpfit.training.bundle import scoring_bundle
from icpfit.training.fit import train_icp_model
from icpfit.usecases.joins import signals_joiner


@pytest.fixture(scope="module")
def trained():
    sample = generate_sample(accounts=3_000, seed=5)
    config = config_from_dict(sample.config)
    raw = {
        name: RawTable(name, f"{name}.csv", frame.astype("string").reset_index(drop=True))
        for name, frame in sample.tables.items()
    }
    prepared, _ = prepare(raw, config, config.as_of)
    run = train_icp_model(prepared, config)
    model = IcpFitModel.from_parts(scoring_bundle(run, prepared, config), run.model.booster_)
    return sample, config, prepared, model


def test_joined_counts_equal_the_training_features_of_prospects(trained, tmp_path):
    sample, config, prepared, model = trained
    sample.tables["signals"].to_csv(tmp_path / "signals.csv", index=False)
    joined = signals_joiner(model, tmp_path / "signals.csv", config.as_of)
    prospects = prepared.labels.index[prepared.labels["cohort"] == "prospect"]
    accounts = sample.tables["accounts"]
    rows = joined.join(accounts[accounts["account_id"].isin(prospects)])
    columns = [c for c in prepared.features.frame.columns if c.startswith("signals_")]
    assert columns and rows[columns].to_numpy().sum() > 0
    expected = prepared.features.frame.loc[rows["account_id"], columns].to_numpy()
    np.testing.assert_array_equal(rows[columns].to_numpy(), expected)


def test_signals_after_the_date_are_not_counted_and_said(trained, tmp_path):
    sample, _, _, model = trained
    signals = sample.tables["signals"]
    signals.to_csv(tmp_path / "signals.csv", index=False)
    early = pd.Timestamp("2025-06-30").date()
    joined = signals_joiner(model, tmp_path / "signals.csv", early)
    once = signals.drop_duplicates()  # exact duplicates count once, as in training
    later = int((pd.to_datetime(once["date"]) > pd.Timestamp(early)).sum())
    assert joined.notes[0] == f"signals.csv: {later:,} signals dated after 2025-06-30 not counted"


def test_a_date_that_is_not_a_date_names_the_lines(trained, tmp_path):
    sample, config, _, model = trained
    signals = sample.tables["signals"].astype({"date": object})
    signals.loc[3, "date"] = "next tuesday"
    signals.to_csv(tmp_path / "signals.csv", index=False)
    with pytest.raises(InputError, match=r"signals.csv: column 'date' has 1 values .* \(lines 5\)"):
        signals_joiner(model, tmp_path / "signals.csv", config.as_of)
