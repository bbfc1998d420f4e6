"""The one validated configuration object: a YAML file becomes a frozen pydantic model.

Every section forbids unknown keys, so a typo is an error that names the file, the key and what
is allowed, instead of a setting that silently does nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

TABLES = ("accounts", "technologies", "opportunities", "revenue", "signals")
REQUIRED_TABLES = ("accounts", "opportunities", "revenue")
"""Required in the default `labels.mode: subscription`; bookings labels need no revenue table."""

# Canonical columns per table: required first, then optional. Accounts accept any extra column.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "technologies": ("account_id", "technology"),
    "opportunities": ("opportunity_id", "account_id", "stage", "close_date"),
    "revenue": ("account_id", "month", "mrr"),
    "signals": ("account_id", "date", "signal_type"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": (),
    "technologies": ("first_seen",),
    "opportunities": ("created_date", "amount", "type"),
    "revenue": (),
    "signals": ("value",),
}


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataPaths(_Section):
    """Where the CRM export tables are (CSV or Parquet), relative to the config file."""

    accounts: Path
    opportunities: Path
    revenue: Path | None = None
    """Required unless `labels.mode` is bookings (checked by IcpConfig)."""
    technologies: Path | None = None
    signals: Path | None = None
    date_format: str | dict[str, str] | None = None
    """How dates are written when they are not ISO (2026-09-30): one strptime format for every
    table ('%d/%m/%Y'), or one per table (`{opportunities: '%d/%m/%Y', revenue: '%m/%Y'}`)."""

    @field_validator(*TABLES)
    @classmethod
    def _known_format(cls, path: Path | None) -> Path | None:
        if path is not None and path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ValueError(f"'{path}' must end in .csv or .parquet")
        return path

    @field_validator("date_format", mode="before")
    @classmethod
    def _date_formats(cls, given: object) -> object:
        if given is None or isinstance(given, str):
            if (problem := date_format_problem(given)) is not None:
                raise ValueError(f"{problem}; {DATE_FORMAT_HELP}")
            return given
        if not isinstance(given, dict):
            raise ValueError(DATE_FORMAT_HELP)
        for table, text in given.items():
            if table not in TABLES:
                raise ValueError(f"unknown table '{table}'; allowed: {', '.join(TABLES)}")
            if (problem := date_format_problem(text)) is not None:
                raise ValueError(f"{table}: {text!r} {problem}; {DATE_FORMAT_HELP}")
        return given

    def date_format_of(self, table: str) -> str | None:
        """The format dates of `table` are written in, if the config gives one."""
        if isinstance(self.date_format, dict):
            return self.date_format.get(table)
        return self.date_format


DATE_FORMAT_HELP = (
    "give a strptime format in quotes, e.g. '%d/%m/%Y' for 30/09/2026 or '%m/%d/%Y' for "
    "09/30/2026, or one per table: {opportunities: '%d/%m/%Y'}"
)


def date_format_problem(text: object) -> str | None:
    """Why `text` cannot be a date format (it must name the year and the month), or None."""
    if text is None:
        return None
    if not isinstance(text, str):
        return "is not a format"
    if not (("%Y" in text or "%y" in text) and any(d in text for d in ("%m", "%b", "%B"))):
        return "does not name the year (%Y) and the month (%m, %b)"
    try:
        datetime.strptime(datetime(2026, 9, 30).strftime(text), text)
    except ValueError as exc:
        return f"is not a format Python reads ({exc})"
    return None


class StageMapping(_Section):
    """Which opportunity stage values of the export mean won, lost and open."""

    won: tuple[str, ...] = ("won",)
    lost: tuple[str, ...] = ("lost",)
    open: tuple[str, ...] = ("open",)

    @model_validator(mode="after")
    def _disjoint(self) -> StageMapping:
        seen: dict[str, str] = {}
        for outcome in ("won", "lost", "open"):
            for value in getattr(self, outcome):
                key = normalise_stage(value)
                if key in seen and seen[key] != outcome:
                    raise ValueError(f"'{value}' is listed under both {seen[key]} and {outcome}")
                seen[key] = outcome
        return self

    def outcome_of(self) -> dict[str, str]:
        """Normalised export value -> won / lost / open."""
        return {
            normalise_stage(value): outcome
            for outcome in ("won", "lost", "open")
            for value in getattr(self, outcome)
        }


def normalise_stage(value: str) -> str:
    return " ".join(str(value).split()).casefold()


class TechStack(_Section):
    """Technologies given as one delimited column on the account rows instead of a long table."""

    column: str = "tech_stack"
    separator: str = Field(";", min_length=1)


class LabelRules(_Section):
    """DESIGN §3: who is ideal, judged over the first `window_months` after acquisition.

    `mode` says where an outcome comes from: `subscription` (monthly recurring revenue in the
    revenue table) or `bookings` (won opportunity amounts, for repeat-order businesses with no MRR).
    """

    mode: Literal["subscription", "bookings"] = "subscription"
    window_months: int = Field(12, ge=1, le=120)
    top_ltv_share: float = Field(0.2, gt=0, lt=1)
    min_expansion: float = Field(1.0, gt=0)


class FeatureColumns(_Section):
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()


class Technographic(_Section):
    technologies: bool = True
    categories: dict[str, str] = Field(default_factory=dict)
    """Optional technology -> category name, for one count feature per category."""


class Behavioral(FeatureColumns):
    signals: bool = True
    """Count each signal type in the 12 months before the account's reference date."""


class FeatureDeclarations(_Section):
    firmographic: FeatureColumns = FeatureColumns()
    technographic: Technographic = Technographic()
    behavioral: Behavioral = Behavioral()
    labels: dict[str, str] = Field(default_factory=dict)
    """What reasons call an attribute: account column, technology category or signal type ->
    label (e.g. `web_visits_monthly: Web visits per month`). Unlabelled attributes read as the
    export names them (snake_case as words)."""

    @model_validator(mode="after")
    def _each_column_once(self) -> FeatureDeclarations:
        declared = self.account_columns()
        repeated = sorted({c for c in declared if declared.count(c) > 1})
        if repeated:
            raise ValueError(f"declared more than once: {', '.join(repeated)}")
        return self

    def account_columns(self) -> list[str]:
        return [
            *self.firmographic.categorical,
            *self.firmographic.numeric,
            *self.behavioral.categorical,
            *self.behavioral.numeric,
        ]


class Disqualifier(_Section):
    """A structured negative-ICP rule; exactly one condition is set. Never an evaluated string."""

    column: str
    reason: str
    equals: str | float | bool | None = None
    not_equals: str | float | bool | None = None
    is_in: tuple[str, ...] | None = Field(None, alias="in")
    not_in: tuple[str, ...] | None = None
    less_than: float | None = None
    greater_than: float | None = None
    exclude_from_training: bool = True

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_condition(self) -> Disqualifier:
        conditions = ("equals", "not_equals", "is_in", "not_in", "less_than", "greater_than")
        given = [c for c in conditions if getattr(self, c) is not None]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of equals, not_equals, in, not_in, less_than, greater_than "
                f"(got {len(given)})"
            )
        return self


class TierShares(_Section):
    """Share of the reference population in tiers A, B and C; D is the rest."""

    A: float = Field(0.10, gt=0, lt=1)
    B: float = Field(0.20, gt=0, lt=1)
    C: float = Field(0.30, gt=0, lt=1)

    @model_validator(mode="after")
    def _room_for_d(self) -> TierShares:
        if self.A + self.B + self.C >= 1:
            raise ValueError(f"A + B + C must be below 1 (got {self.A + self.B + self.C:g})")
        return self


class RecipeChoice(_Section):
    """Parts of the training recipe to fix instead of letting the backtest choose them."""

    tree_shape: Literal["default", "depth-3", "depth-2"] | None = None
    population: Literal["customers_and_lost", "customers"] | None = None
    disqualified: Literal["excluded", "kept"] | None = None
    headcount: Literal["as_given", "estimated"] | None = None


class ModelSettings(_Section):
    params: dict[str, Any] = Field(default_factory=dict)
    """LightGBM parameters over the defaults (num_leaves / max_depth also fix the tree shape)."""
    seed: int = 42
    folds: int = Field(4, ge=2, le=12)
    """Quarters in the rolling-origin backtest."""
    recipe: RecipeChoice = RecipeChoice()


class DriftSettings(_Section):
    """A feature whose PSI between the previous and this training population exceeds the
    threshold is flagged at train time (0.1-0.25 is a moderate shift, above 0.25 a real one)."""

    psi_threshold: float = Field(0.25, gt=0)


class SplitCounts(_Section):
    train: int = Field(20, ge=1)
    """Decided before each backtest fold (what the fold's model learns from)."""
    fold: int = Field(5, ge=1)
    """Decided in each backtest fold (what the fold's model is judged on)."""


class Minimums(_Section):
    """The fewest ideal and non-ideal customers each backtest fold needs, before it and in it,
    before icpfit trains and judges a model (`validate` reports the counts against them)."""

    ideal: SplitCounts = SplitCounts()
    non_ideal: SplitCounts = SplitCounts()


class TimingSettings(_Section):
    """Fit x timing (issue 16): the in-market model, trained from monthly point-in-time
    snapshots of every account that was not a customer, when the export has signals."""

    enabled: bool = True
    """Train the timing model with the fit model whenever `data.signals` is set."""
    triggers: tuple[str, ...] = ()
    """Signal types that count as triggers (recency and counts are features; `why_now` names
    them). Empty: every signal type in the export."""
    levels: tuple[str, ...] = ()
    """Signal types whose `value` is a level read over time (open job postings, web visits a
    month): the timing model also gets each one's latest reading and its change over 90 days,
    and `why_now` says a notable rise ("14 open roles, up from 3 in June"). A type may be a
    trigger too. Empty: none; they are named, not guessed from the export, because a value does
    not say whether it is a level (a funding round's amount is not)."""
    horizon_days: int = Field(90, ge=7, le=365)
    """In market = an opportunity created within this many days after the snapshot."""
    windows_days: tuple[int, ...] = (30, 90, 180)
    """Signals counted per type in each of these windows before the snapshot."""
    history_months: int = Field(24, ge=4, le=120)
    """Monthly snapshots over this many months before the as-of date."""
    holdout_months: int = Field(6, ge=1, le=24)
    """The newest labelled snapshot months, held out to judge the model against baselines."""
    capacity: int = Field(200, ge=1)
    """Accounts worked per month in the backtest of the queue's top N."""
    model_name: str = Field("icp-timing", min_length=1)
    engine: Literal["pandas", "spark"] = "pandas"
    """What builds the snapshots and their signal features: pandas and Arrow in this process,
    or Spark (`pip install icpfit[spark]`) where they outgrow one machine. Same rows either way;
    the snapshot table comes back into this process to be trained on."""
    spark_master: str = Field("local[*]", min_length=1)
    """The Spark master for `engine: spark` (an active SparkSession is used as it is)."""

    @model_validator(mode="after")
    def _room_to_learn(self) -> TimingSettings:
        repeated = sorted({t for t in self.triggers if self.triggers.count(t) > 1})
        if repeated:
            raise ValueError(f"timing.triggers: listed more than once: {', '.join(repeated)}")
        repeated = sorted({t for t in self.levels if self.levels.count(t) > 1})
        if repeated:
            raise ValueError(f"timing.levels: listed more than once: {', '.join(repeated)}")
        if any(w < 1 for w in self.windows_days) or len(set(self.windows_days)) < len(
            self.windows_days
        ):
            raise ValueError("timing.windows_days: each window at least 1 day, each once")
        needed = self.holdout_months + (self.horizon_days + 29) // 30 + 2
        if self.history_months < needed:
            raise ValueError(
                f"timing.history_months must be at least {needed} (holdout months, the horizon "
                f"and two months to learn from; got {self.history_months})"
            )
        return self


class Registry(_Section):
    experiment: str = Field("icp-fit", min_length=1)
    model_name: str = Field("icp-fit", min_length=1)


class IcpConfig(_Section):
    """A user's CRM export and how to learn an ICP from it."""

    data: DataPaths
    columns: dict[
        Literal["accounts", "technologies", "opportunities", "revenue", "signals"], dict[str, str]
    ] = Field(default_factory=dict)
    stages: StageMapping = StageMapping()
    tech_stack: TechStack | None = None
    as_of: date | None = None
    labels: LabelRules = LabelRules()
    features: FeatureDeclarations = FeatureDeclarations()
    disqualifiers: tuple[Disqualifier, ...] = ()
    tiers: TierShares = TierShares()
    model: ModelSettings = ModelSettings()
    registry: Registry = Registry()
    timing: TimingSettings = TimingSettings()
    drift: DriftSettings = DriftSettings()
    minimums: Minimums = Minimums()
    source: Path | None = Field(None, exclude=True)
    """The file this config was read from (set by `load_config`, not by the YAML)."""

    @field_validator("columns")
    @classmethod
    def _known_canonical_names(
        cls, columns: dict[str, dict[str, str]]
    ) -> dict[str, dict[str, str]]:
        for table, mapping in columns.items():
            if table == "accounts":
                continue
            known = REQUIRED_COLUMNS[table] + OPTIONAL_COLUMNS[table]
            unknown = sorted(set(mapping) - set(known))
            if unknown:
                raise ValueError(
                    f"{table}: unknown column {', '.join(unknown)}; allowed: {', '.join(known)}"
                )
        return columns

    @model_validator(mode="after")
    def _revenue_for_subscription_labels(self) -> IcpConfig:
        if self.labels.mode == "subscription" and self.data.revenue is None:
            raise ValueError(
                "data.revenue: required when labels.mode is subscription (the default): LTV, "
                "retention and expansion come from monthly mrr; fix: add data.revenue, or set "
                "labels.mode: bookings to label from won opportunity amounts"
            )
        return self

    @model_validator(mode="after")
    def _lightgbm_knows_the_params(self) -> IcpConfig:
        from icpfit.model_params import param_problems

        problems = param_problems(self.model.params)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _two_model_names(self) -> IcpConfig:
        if self.timing.model_name == self.registry.model_name:
            raise ValueError(
                f"timing.model_name: {self.timing.model_name!r} is registry.model_name too; the "
                "timing model needs its own registered model (default icp-timing)"
            )
        return self

    def required_tables(self) -> tuple[str, ...]:
        """The tables labels cannot do without in this config's label mode."""
        if self.labels.mode == "bookings":
            return ("accounts", "opportunities")
        return REQUIRED_TABLES

    def path_of(self, table: str) -> Path | None:
        """Absolute path of a table: relative paths are relative to the config file."""
        path = getattr(self.data, table)
        if path is None or path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path

    def column_map(self, table: str) -> dict[str, str]:
        """Canonical name -> the export's column name, for one table."""
        return dict(self.columns.get(table, {}))


def load_config(path: Path | str) -> IcpConfig:
    """Read and validate a YAML config; any problem is a ConfigError naming the file and key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return config_from_dict(raw, source=path.resolve())


def config_from_dict(raw: dict[str, Any], source: Path | None = None) -> IcpConfig:
    label = source.name if source else "config"
    try:
        return IcpConfig.model_validate({**raw, "source": source})
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(label, err) for err in exc.errors())) from None


def _describe(label: str, err: dict[str, Any]) -> str:
    """One line per problem: file, dotted key, what is wrong and what is allowed."""
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc) or "(top level)"
    if not loc and err["type"] == "value_error":  # a rule across sections names its own key
        lines = err["msg"].removeprefix("Value error, ").splitlines()
        return "\n".join(f"{label}: {line}" for line in lines)
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"{label}: {key}: unknown key{hint}"
    message = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{label}: {key}: {message}{shown}"


def _allowed_keys(loc: list[str]) -> list[str]:
    model: Any = IcpConfig
    for part in loc:
        if part.isdigit():
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ()) or ()
        candidates = [annotation, *args]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if model is None:
            return []
    fields = getattr(model, "model_fields", {})
    return sorted(f.alias or name for name, f in fields.items() if name != "source")
