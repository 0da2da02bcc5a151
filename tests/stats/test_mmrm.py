"""The MMRM (msc_sle.stats.longitudinal.mmrm) against R nlme ``gls``.

Data: Potthoff & Roy's orthodontic growth (nlme::Orthodont, data/orthodont.csv) with every 7th
row dropped (rows 3, 10, 17, ...: 92 of 108 visits, so most subjects miss one), age as a factor
and Sex the group, as tests/stats/test_longitudinal.py. Reference values printed by R 4.x, nlme
3.1, with this script (run from the repository root):

    suppressMessages(library(nlme)); options(digits = 12)
    d <- read.csv("tests/stats/data/orthodont.csv")
    d <- d[-seq(3, nrow(d), by = 7), ]
    d$Sex <- factor(d$Sex, levels = c("Female", "Male")); d$visit <- as.integer(factor(d$age)); d$age <- factor(d$age)
    un <- gls(distance ~ age * Sex, d, correlation = corSymm(form = ~ visit | Subject),
              weights = varIdent(form = ~ 1 | age), method = "REML")
    csh <- update(un, correlation = corCompSymm(form = ~ visit | Subject))
    cs <- gls(distance ~ age * Sex, d, correlation = corCompSymm(form = ~ visit | Subject), method = "REML")
    print(sapply(list(un = un, csh = csh, cs = cs), function(m) c(logLik(m), AIC(m), BIC(m))))
    nd <- expand.grid(age = levels(d$age), Sex = levels(d$Sex)); L <- model.matrix(~ age * Sex, nd)
    for (m in list(un, csh)) {
      est <- drop(L %*% coef(m)); se <- sqrt(diag(L %*% vcov(m) %*% t(L)))
      print(rbind(est, se)); print(anova(m)["age:Sex", ])
    }
    print(sqrt(diag(vcov(cs)))); print(anova(cs)["age:Sex", ])
    print(anova(lme(distance ~ age * Sex, random = ~ 1 | Subject, data = d))["age:Sex", ])
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msc_sle.stats.longitudinal import COVARIANCE_STRUCTURES, mixed_model, mmrm

DATA = Path(__file__).parent / "data"

R_LOGLIK = {"unstructured": -179.780365590, "heterogeneous compound symmetry": -181.259550077,
            "compound symmetry": -182.606552582}
R_AIC = {"unstructured": 395.560731180, "heterogeneous compound symmetry": 388.519100155,
         "compound symmetry": 385.213105163}
R_BIC = {"unstructured": 439.315433559, "heterogeneous compound symmetry": 420.119718540,
         "compound symmetry": 409.521273152}
R_MEANS = {  # Female at 8, 10, 12, 14, then Male
    "unstructured": ([21.575982208084, 22.356960213140, 23.163540046517, 23.966910368854,
                      23.082966302681, 23.807690760459, 25.863938478127, 27.261759601350],
                     [0.706097140885, 0.626025417357, 0.819946652649, 0.688364870599,
                      0.574256062837, 0.508420995491, 0.700742907602, 0.563244870082]),
    "heterogeneous compound symmetry": ([21.582144608014, 22.362245441999, 23.156401730374, 23.832828147660,
                                         23.074855149603, 23.820422712814, 25.744195727534, 27.235315808390],
                                        [0.706917926878, 0.647986047525, 0.816494032196, 0.669038526143,
                                         0.574917708613, 0.526989965159, 0.698999084608, 0.544111390869]),
}
R_F = {"unstructured": 2.58497064818, "heterogeneous compound symmetry": 2.43972964597}
R_CS_SE = [0.721995494291, 0.713379856286, 0.689034413879, 0.713379856286, 0.930548654647,
           0.910395623212, 0.900526688234, 0.910395623212]


def _orthodont():
    d = pd.read_csv(DATA / "orthodont.csv")
    return d.drop(index=d.index[2::7])


def _fit(d=None, **kw):
    return mmrm(_orthodont() if d is None else d, outcome="distance", time="age", group="Sex",
                subject="Subject", **kw)


@pytest.mark.parametrize("structure", list(R_MEANS))
def test_means_intervals_and_f_match_nlme_gls(structure):
    r = _fit(structures=(structure,))
    assert r.structure == structure and r.converged and (r.n_obs, r.n_subjects, r.df_residual) == (92, 27, 84)
    assert r.loglik == pytest.approx(R_LOGLIK[structure], abs=1e-5)
    mean, se = R_MEANS[structure]
    m = r.means.set_index(["group", "time"]).loc[[(g, t) for g in ("Female", "Male") for t in (8, 10, 12, 14)]]
    np.testing.assert_allclose(m["mean"], mean, atol=1e-5)
    np.testing.assert_allclose(m["se"], se, atol=1e-5)
    # t on observations - fixed effects (92 - 8), as summary.gls; the quantile from R: qt(0.975, 84)
    q = 1.98860966698
    np.testing.assert_allclose(m["ci_lower"], np.array(mean) - q * np.array(se), atol=1e-5)
    np.testing.assert_allclose(m["ci_upper"], np.array(mean) + q * np.array(se), atol=1e-5)
    t = r.interaction
    assert (t.df, t.df_denominator) == (3, 84) and "anova.gls" in t.method
    assert t.statistic == pytest.approx(R_F[structure], abs=1e-5)
    assert t.p == pytest.approx(float(stats.f.sf(R_F[structure], 3, 84)), abs=1e-6)


def test_structures_are_compared_by_aic_as_nlme_reports_it():
    r = _fit()
    c = r.candidates.set_index("structure")
    assert list(c.index) == list(COVARIANCE_STRUCTURES)
    assert list(c["parameters"]) == [10, 5, 2]
    for s in COVARIANCE_STRUCTURES:
        assert c.loc[s, "loglik"] == pytest.approx(R_LOGLIK[s], abs=1e-5)
        assert c.loc[s, "aic"] == pytest.approx(R_AIC[s], abs=1e-4)
        assert c.loc[s, "bic"] == pytest.approx(R_BIC[s], abs=1e-4)
    # Orthodont's correlation is close to exchangeable: compound symmetry has the smallest AIC
    assert r.structure == "compound symmetry" and c["chosen"].sum() == 1 and c.loc["compound symmetry", "chosen"]
    np.testing.assert_allclose(r.fixed["se"], R_CS_SE, atol=1e-5)
    assert r.aic == pytest.approx(R_AIC["compound symmetry"], abs=1e-4)
    assert r.interaction.statistic == pytest.approx(1.97759515201, abs=1e-5)


def test_compound_symmetry_is_the_random_intercept_model_whose_f_has_lme_df():
    """gls with corCompSymm and lme with a random intercept are the same marginal model; anova.lme
    gives the interaction F on 92 - 27 subjects - 6 within-subject columns = 59 df (R: 0.1271),
    anova.gls on 92 - 8 = 84 df."""
    r = mixed_model(_orthodont(), outcome="distance", time="age", group="Sex", subject="Subject")
    t = r.wald_interaction
    assert (t.df, t.df_denominator) == (3, 59) and "anova.lme" in t.method
    assert t.statistic == pytest.approx(1.97759515201, abs=1e-5)
    assert t.p == pytest.approx(float(stats.f.sf(1.97759515201, 3, 59)), abs=1e-6)
    assert round(t.p, 4) == 0.1271


def test_intervals_stay_within_the_possible_range_and_say_where_they_were_cut():
    free = _fit(structures=("unstructured",)).means
    floor = 22.0
    r = _fit(structures=("unstructured",), bounds=(floor, None))
    m = r.means
    below = free["ci_lower"] < floor
    assert below.any() and (~below).any()
    assert list(m["truncated"]) == list(below)
    assert (m.loc[below, "ci_lower"] == floor).all()
    pd.testing.assert_series_equal(m.loc[~below, "ci_lower"], free.loc[~below, "ci_lower"])
    pd.testing.assert_series_equal(m["ci_lower_raw"], free["ci_lower"], check_names=False)
    pd.testing.assert_series_equal(m["mean"], free["mean"])
    capped = _fit(structures=("unstructured",), bounds=(None, 27.0)).means
    assert (capped["ci_upper"] <= 27.0).all() and capped["truncated"].sum() == (free["ci_upper"] > 27.0).sum() > 0
    assert r.bounds == (floor, None)


def test_covariance_estimate_is_sigma_of_the_chosen_structure():
    r = _fit(structures=("heterogeneous compound symmetry",))
    corr = r.correlation.to_numpy()
    off = corr[np.triu_indices(4, 1)]
    assert np.allclose(off, off[0]) and 0 < off[0] < 1
    assert list(r.sd.index) == [8, 10, 12, 14] and (r.sd > 0).all()


def test_input_checks_and_pickle():
    d = _orthodont()
    with pytest.raises(ValueError, match="same time"):
        _fit(pd.concat([d, d.iloc[[0]]]))
    with pytest.raises(ValueError, match="not estimable"):
        _fit(d[~((d["Sex"] == "Male") & (d["age"] == 14))])
    with pytest.raises(ValueError, match="unknown covariance structure"):
        _fit(structures=("toeplitz",))
    r = _fit()
    back = pickle.loads(pickle.dumps(r))
    pd.testing.assert_frame_equal(back.means, r.means)
