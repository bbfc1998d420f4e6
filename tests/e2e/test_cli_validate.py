"""`icpfit validate` on files: one line per error on stderr, a report on stdout, exit codes."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from icpfit.cli import app
from tests.conftest import tiny_export

runner = CliRunner()


def write_export(tmp_path, frames=None, **config_overrides):
    frames = frames or tiny_export()
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    config = {
        "data": {
            name: f"{name}.csv" for name in ("accounts", "opportunities", "revenue", "technologies")
        },
        "as_of": "2026-09-30",
        "labels": {"window_months": 3},
        "features": {"firmographic": {"categorical": ["industry"], "numeric": ["employees"]}},
        **config_overrides,
    }
    path = tmp_path / "icpfit.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_every_command_has_help_with_an_example():
    for command in ("sample-data", "validate"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: icpfit " + command in result.output


def test_clean_export_prints_the_report(tmp_path):
    result = runner.invoke(app, ["validate", "--config", str(write_export(tmp_path))])
    assert result.exit_code == 0, result.output
    for expected in (
        "icpfit data report · as of 2026-09-30",
        "Cohorts",
        "ideal",
        "Coverage",
        "Features: 6 (firmographic 2, technographic 4)",
        "0 errors, 0 warnings",
    ):
        assert expected in result.stdout


def test_as_of_option_overrides_the_config(tmp_path):
    result = runner.invoke(
        app, ["validate", "--config", str(write_export(tmp_path)), "--as-of", "2026-01-31"]
    )
    assert result.exit_code == 0, result.output
    assert "as of 2026-01-31" in result.stdout
    assert "rows dated after as_of 2026-01-31" in result.stdout


def test_missing_file_is_one_line_naming_it(tmp_path):
    path = write_export(tmp_path)
    (tmp_path / "revenue.csv").unlink()
    result = runner.invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors[0].startswith("error: revenue.csv: file not found at")
    assert "fix: correct data.revenue in icpfit.yaml" in errors[0]
    assert errors[-1] == "error: 1 errors: the export cannot be used yet"


def test_data_errors_exit_non_zero_with_one_line_each(tmp_path):
    frames = tiny_export()
    frames["opportunities"] = frames["opportunities"].assign(stage=["won", "Stalled", "lost"])
    frames["revenue"] = frames["revenue"].assign(mrr=["1", "2", "x", "4", "5", "6"])
    result = runner.invoke(app, ["validate", "--config", str(write_export(tmp_path, frames))])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert any("opportunities.csv: column 'stage'" in e and "'Stalled'" in e for e in errors)
    assert any("revenue.csv: column 'mrr' has 1 non-numeric values at line 4" in e for e in errors)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"labels": {"window_months": 0}}, "icpfit.yaml: labels.window_months: Input should be"),
        ({"tiers": {"E": 0.1}}, "icpfit.yaml: tiers.E: unknown key; allowed: A, B, C"),
    ],
)
def test_config_errors_exit_2_naming_the_key(tmp_path, override, message):
    result = runner.invoke(app, ["validate", "--config", str(write_export(tmp_path, **override))])
    assert result.exit_code == 2
    assert message in result.stderr


def test_bad_as_of_is_rejected(tmp_path):
    result = runner.invoke(
        app, ["validate", "--config", str(write_export(tmp_path)), "--as-of", "30/09/2026"]
    )
    assert result.exit_code == 2
    assert "is not a date like 2026-09-30" in result.output
