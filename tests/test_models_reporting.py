"""What 07_models says in words about its fits and its questions (msc_sle.prognosis), checked by hand:
the reason a fit is not estimable, with share-mode counts; the yes/no predictors resting on few
patients; the nesting of response definitions; the multiplicity statement; the linearity table."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msc_sle.clinical import doris, paper_cr, paper_lda
from msc_sle.prognosis import (linearity_checks, model_data, multiplicity_statement, nested_definitions,
                               not_estimable_text, sparse_predictors)
from msc_sle.stats.estimability import Estimability
from msc_sle.workbook.disclosure import shown_count


def _check(problems, n=69, events=68):
    return Estimability(estimable=False, problems=problems, n=n, n_events=events, penalised=True, separated=True,
                        loglik=-0.33, best_loglik=-0.10, n_starts=6, max_hessian_eigenvalue=-0.05)


def test_not_estimable_reason_in_clinical_words_and_share_counts():
    text = not_estimable_text(_check(("not_maximum", "ci_excludes_estimate")), "SLEDAI-4 reduction during the year")
    assert text.startswith("not estimable: 68 of 69 patients had SLEDAI-4 reduction during the year (1 without it)")
    assert "not the maximum" in text and "confidence intervals" in text
    shared = not_estimable_text(_check(("hessian",)), "CR", count=lambda v, of=None: shown_count(v, 5, of=of))
    assert "[c] of 69 patients had CR (<5 without it)" in shared and "no clear maximum" in shared
    few = not_estimable_text(_check(("separation",), n=40, events=3), "CR")
    assert "3 of 40 patients had CR (3 with it)" in few and "infinite" in few


def _frame():
    rng = np.random.default_rng(4)
    n = 40
    lda = rng.random(n) < 0.6
    cr = lda & (rng.random(n) < 0.5)
    remission = cr & (rng.random(n) < 0.5)
    nephritis = np.ones(n, dtype=bool)
    nephritis[:3] = False
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "lda_ever": lda, "cr_ever": cr,
                         "doris_ever": remission, "age_years": rng.normal(35, 9, n).round(),
                         "active_lupus_nephritis": pd.array(nephritis, dtype="boolean")})


def test_sparse_predictors_nesting_and_multiplicity():
    frame = _frame()
    data = model_data(frame, "lda_ever", ["age_years", "active_lupus_nephritis"])
    sentences = sparse_predictors(data)
    assert len(sentences) == 1 and "only 3 of the 40 analysed patients are 'no'" in sentences[0]
    definitions = {"cr": paper_cr, "lda": paper_lda, "doris": doris}
    nested = nested_definitions(frame, definitions)
    n_cr, n_doris = int(frame["cr_ever"].sum()), int(frame["doris_ever"].sum())
    # direct steps only: DORIS in CR in LDA, not also DORIS in LDA
    assert sorted(nested) == sorted([("CR", "LDA", n_cr), ("DORIS remission", "CR", n_doris)])
    text = multiplicity_statement("Age", definitions, nested)
    assert "Table 2" in text and "3 response definitions (CR, LDA, DORIS remission)" in text
    assert f"CR ⊂ LDA ({n_cr} patients)" in text and "not replication" in text and "log-rank" in text


def test_linearity_table_has_one_row_per_continuous_term():
    frame = _frame()
    data = model_data(frame, "lda_ever", ["age_years", "active_lupus_nephritis"])
    t = linearity_checks(data)
    assert list(t["term"]) == ["age_years"] and int(t["df"].iloc[0]) == 2
    assert 0 <= t["lr_p"].iloc[0] <= 1 and t["note"].iloc[0] == ""


def test_time_to_response_states_the_interval_censoring_caveat_only_when_it_applies():
    from msc_sle.prognosis import TimeToResponse
    intervals = pd.DataFrame({"patient_id": ["A", "B", "C"], "left": [1.0, 0.0, 0.0], "right": [6.0, 1.0, 12.0],
                              "event": [True, True, False], "widened": [True, False, False],
                              "n_visits": [3, 1, 4], "followed": [True, True, True]})
    ttr = TimeToResponse(label="CR", intervals=intervals, overall=None, by_group=None, group_variable=None,
                         group_title="", n_unfollowed=0, n_group_missing=0)
    text = ttr.caveats()
    assert text.startswith("1 first response(s) fall in an interval widened") and "right-endpoint imputation" in text
    assert "no confidence intervals" in text
    clean = TimeToResponse(label="CR", intervals=intervals.assign(widened=False), overall=None, by_group=None,
                           group_variable=None, group_title="", n_unfollowed=0, n_group_missing=0)
    assert clean.caveats() == ""


def test_hazard_sentence_prints_the_test_and_the_hazard_ratio_or_not_estimable():
    """The discrete-time line of 07: on R's glm reference data (tests/stats/data/discrete_time.csv,
    HR exp(0.04596) = 1.047 per unit, Wald CI exp(0.04596 ± 1.96 × 0.01348) = 1.020 to 1.075) the sentence names the LR test and prints the
    HR as every ratio of the workbook is printed; on separated data it says 'not estimable'."""
    from pathlib import Path

    from msc_sle.present.format import hazard_sentence
    from msc_sle.stats.survival import discrete_time_model

    d = pd.read_csv(Path(__file__).parent / "stats" / "data" / "discrete_time.csv")
    m = discrete_time_model(d["right"], d["event"], d["x"], names=["x"], grid=[1, 3, 6, 12])
    text = hazard_sentence(m, "x, kept continuous")
    assert text.startswith("x, kept continuous: ") and "chi-square = 12.26 on 1 df" in text
    assert text.endswith("; hazard ratio 1.05 (1.02 to 1.08) (95% Wald CI)")
    separated = discrete_time_model([1.0, 1.0, 3.0, 3.0, 12.0, 12.0], [True, True, True, True, False, False],
                                    [5.0, 6.0, 3.0, 4.0, 1.0, 2.0], grid=[1, 3, 6, 12])
    assert hazard_sentence(separated, "x").startswith("x: discrete-time model not estimable")


def test_covariance_structures_print_one_fixed_decimal():
    """An AIC or BIC that happens to end in .0 keeps its decimal beside the others (the page printed
    '1994' beside '1948.2' before), and the chosen structure is named in the table."""
    from msc_sle.present.tables import covariance_structures_table

    candidates = pd.DataFrame({"structure": ["unstructured", "compound symmetry"],
                               "nlme": ["corSymm + varIdent", "corCompSymm"], "parameters": [15, 2],
                               "loglik": [-901.4, -962.0], "aic": [1852.75, 1948.25], "bic": [1994.0, 1957.96],
                               "converged": [True, True], "chosen": [True, False]})
    body = covariance_structures_table(candidates).body
    assert list(body["BIC"]) == ["1994.0", "1958.0"] and list(body["REML log-likelihood"]) == ["-901.4", "-962.0"]
    assert list(body["AIC"]) == ["1852.8", "1948.3"]   # rounded half up, as every number of the workbook
