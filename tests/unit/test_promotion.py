from __future__ import annotations

from icpfit.training.promotion import PromotionRule, should_promote

CHAMPION = {"roc_auc": 0.80, "lift_top_decile": 3.0}


def test_first_model_becomes_champion():
    assert should_promote(CHAMPION, None).alias == "champion"


def test_promote_never_never_makes_a_champion_not_even_the_first():
    first = should_promote(CHAMPION, None, mode="never")
    assert first.alias == "challenger" and "--promote never" in first.reason
    assert should_promote(CHAMPION, None, mode="force").forced


def test_rule_boundaries():
    rule = PromotionRule(max_auc_drop=0.005, max_lift_drop=0.05)
    assert (
        should_promote({"roc_auc": 0.795, "lift_top_decile": 2.85}, CHAMPION, rule).alias
        == "champion"
    )
    worse_auc = should_promote({"roc_auc": 0.7949, "lift_top_decile": 3.5}, CHAMPION, rule)
    assert worse_auc.alias == "challenger" and "rule fails on AUC" in worse_auc.reason
    worse_lift = should_promote({"roc_auc": 0.9, "lift_top_decile": 2.84}, CHAMPION, rule)
    assert worse_lift.alias == "challenger" and "lift" in worse_lift.reason


def test_modes_never_and_force_record_the_numbers():
    better = {"roc_auc": 0.9, "lift_top_decile": 4.0}
    never = should_promote(better, CHAMPION, mode="never")
    assert never.alias == "challenger" and "candidate AUC 0.9000" in never.reason
    forced = should_promote({"roc_auc": 0.5, "lift_top_decile": 1.0}, CHAMPION, mode="force")
    assert forced.alias == "champion" and forced.forced and "champion AUC 0.8000" in forced.reason
