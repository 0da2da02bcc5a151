"""Trajectory models (msc_sle.stats.longitudinal) against R nlme and geepack.

Reference data: Potthoff & Roy (1964) orthodontic growth measurements, the worked example of
Pinheiro & Bates, *Mixed-Effects Models in S and S-PLUS* (2000), sections 1.4 and 4.x, shipped
with R as ``nlme::Orthodont`` and stored as data/orthodont.csv: distance (mm) at ages 8, 10, 12,
14 in 16 boys and 11 girls. Here age is a factor (the model of the trajectory analysis) and Sex
the group. Reference values: data/reference_longitudinal.R run with R 4.2 (nlme ``lme`` REML and
ML, ``anova``, ``vcov``; geepack ``geeglm`` exchangeable), printed values stored below; a second
run drops every 7th row (rows 3, 10, 17, ...) to check unbalanced data (missed visits).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msc_sle.stats.longitudinal import gee_model, mixed_model

DATA = Path(__file__).parent / "data"
ATOL = 1e-5

TERMS = ["Intercept", "time[10]", "time[12]", "time[14]", "group[Male]", "time[10]:group[Male]",
         "time[12]:group[Male]", "time[14]:group[Male]"]


def _orthodont(unbalanced=False):
    d = pd.read_csv(DATA / "orthodont.csv")
    return d.drop(index=d.index[2::7]) if unbalanced else d


def _fit(d):
    return mixed_model(d, outcome="distance", time="age", group="Sex", subject="Subject")


def test_mixed_model_matches_nlme_lme():
    r = _fit(_orthodont())
    assert r.converged and r.reml and (r.n_obs, r.n_subjects) == (108, 27)
    assert r.time_levels == (8, 10, 12, 14) and r.group_levels == ("Female", "Male")
    assert list(r.fixed.index) == TERMS
    np.testing.assert_allclose(r.fixed["coef"], [21.181818181818, 1.045454545455, 1.909090909091,
                                                 2.909090909091, 1.693181818182, -0.107954545455,
                                                 0.934659090909, 1.684659090909], atol=1e-8)
    np.testing.assert_allclose(r.fixed["se"], [0.691534928948, 0.599247691778, 0.599247691778,
                                               0.599247691778, 0.898330224110, 0.778445586359,
                                               0.778445586359, 0.778445586359], atol=ATOL)
    assert r.var_subject == pytest.approx(3.28538825895, abs=1e-4)
    assert r.var_residual == pytest.approx(1.97503787856, abs=1e-4)
    assert r.loglik == pytest.approx(-211.704266414, abs=1e-6)
    # anova(lme): age:Sex F = 2.36156305544 on 3 df; ML fits: L.Ratio = 7.31133503254
    assert r.wald_interaction.f == pytest.approx(2.36156305544, abs=ATOL)
    assert r.wald_interaction.df == 3
    assert r.lr_interaction.statistic == pytest.approx(7.31133503254, abs=1e-6)
    assert r.lr_interaction.p == pytest.approx(0.0626, abs=5e-5)
    assert r.icc == pytest.approx(3.28538825895 / (3.28538825895 + 1.97503787856), abs=ATOL)


def test_marginal_means_are_cell_means_in_balanced_data_and_match_r():
    d = _orthodont()
    r = _fit(d)
    m = r.means.set_index(["group", "time"])
    cell = d.groupby(["Sex", "age"])["distance"].mean()
    np.testing.assert_allclose(m["mean"], cell.loc[m.index], atol=1e-8)
    # R: L b and sqrt(L V L') from fixef/vcov(lme)
    np.testing.assert_allclose(m.loc["Female", "se"], [0.691534928948] * 4, atol=ATOL)
    np.testing.assert_allclose(m.loc["Male", "se"], [0.573390472187] * 4, atol=ATOL)
    np.testing.assert_allclose(m["ci_upper"] - m["mean"], 1.959963984540054 * m["se"])
    assert list(m["n"]) == [11] * 4 + [16] * 4


def test_mixed_model_unbalanced_matches_nlme():
    r = _fit(_orthodont(unbalanced=True))
    assert r.n_obs == 92
    np.testing.assert_allclose(r.fixed["coef"], [21.57436219983925, 0.77674519449018,
                                                 1.61021660148510, 2.30007841537936,
                                                 1.48772186371942, 0.00786034662295,
                                                 1.03269974734159, 1.87388798046122], atol=ATOL)
    np.testing.assert_allclose(r.fixed["se"], [0.721995534572, 0.713379823182, 0.689034381393,
                                               0.713379823182, 0.930548707972, 0.910395580644,
                                               0.900526645893, 0.910395580644], atol=ATOL)
    assert r.var_subject == pytest.approx(2.96866592231, abs=1e-4)
    assert r.var_residual == pytest.approx(2.15349308403, abs=1e-4)
    assert r.loglik == pytest.approx(-182.606552582, abs=1e-6)
    m = r.means.set_index(["group", "time"])
    np.testing.assert_allclose(m["mean"], [21.5743621998, 22.3511073943, 23.1845788013,
                                           23.8744406152, 23.0620840636, 23.8466896047,
                                           25.7050004124, 27.2360504594], atol=ATOL)
    np.testing.assert_allclose(m["se"], [0.721995534572, 0.721995534572, 0.700421379248,
                                         0.721995534572, 0.587063323643, 0.587063323643,
                                         0.599828946930, 0.587063323643], atol=ATOL)
    assert r.wald_interaction.f == pytest.approx(1.97759515201, abs=ATOL)
    assert r.lr_interaction.statistic == pytest.approx(6.27450932226, abs=1e-6)


def test_gee_matches_geepack():
    g = gee_model(_orthodont(), outcome="distance", time="age", group="Sex", subject="Subject")
    np.testing.assert_allclose(g.fixed["se"], [0.610760017231, 0.342900519599, 0.345084621423,
                                               0.379310933632, 0.851802125583, 0.684762094246,
                                               0.677036062213, 0.749848505010], atol=ATOL)
    assert g.correlation == pytest.approx(0.624547930607, abs=ATOL)
    assert g.scale == pytest.approx(4.87076494108, abs=ATOL)
    u = gee_model(_orthodont(unbalanced=True), outcome="distance", time="age", group="Sex",
                  subject="Subject")
    np.testing.assert_allclose(u.fixed["coef"], [21.58993405390497, 0.76445686980150,
                                                 1.60314933747936, 2.24896421374877,
                                                 1.48125545709542, -0.00572271800576,
                                                 1.01933744581554, 1.91755122196840], atol=ATOL)
    np.testing.assert_allclose(u.fixed["se"], [0.520230576201, 0.170916072398, 0.340597218946,
                                               0.405952833268, 0.804275707394, 0.689965258992,
                                               0.830112621320, 0.687262219924], atol=ATOL)
    assert u.correlation == pytest.approx(0.498471096637, abs=ATOL)
    # robust Wald test of the interaction, from the reported robust covariance
    idx = [5, 6, 7]
    b = u.fixed["coef"].to_numpy()[idx]
    V = u.cov_fixed.to_numpy()[np.ix_(idx, idx)]
    assert u.wald_interaction.statistic == pytest.approx(b @ np.linalg.solve(V, b))


def test_an_optimiser_that_raises_is_a_failed_optimiser(monkeypatch):
    """statsmodels' L-BFGS line search can step to variance parameters where X'V^-1X is singular
    and raise LinAlgError (seen on a 69-subject, 5-visit data set); the next optimiser must then be
    tried, giving the same REML fit as nlme (here L-BFGS is made to raise on Orthodont)."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    fit = MixedLM.fit
    tried = []

    def flaky(self, *args, method=None, **kwargs):
        tried.append(method[0])
        if method == ["lbfgs"]:
            raise np.linalg.LinAlgError("Singular matrix")
        return fit(self, *args, method=method, **kwargs)

    monkeypatch.setattr(MixedLM, "fit", flaky)
    r = _fit(_orthodont())
    assert tried[:2] == ["lbfgs", "bfgs"] and r.converged
    assert r.var_subject == pytest.approx(3.28538825895, abs=1e-4)
    assert r.lr_interaction.statistic == pytest.approx(7.31133503254, abs=1e-5)


def test_input_checks_categorical_order_and_pickle():
    d = _orthodont()
    with pytest.raises(ValueError, match="single group"):
        first_girl_row = d.index[d["Subject"] == "F01"][0]
        mixed_model(d.assign(Sex=np.where(d.index == first_girl_row, "Male", d["Sex"])),
                    outcome="distance",
                    time="age", group="Sex", subject="Subject")
    with pytest.raises(ValueError, match="not found"):
        mixed_model(d, outcome="y", time="age", group="Sex", subject="Subject")
    # category order sets the reference group; missing outcomes are dropped
    d2 = d.assign(Sex=pd.Categorical(d["Sex"], categories=["Male", "Female"]))
    d2.loc[0, "distance"] = np.nan
    r = mixed_model(d2, outcome="distance", time="age", group="Sex", subject="Subject")
    assert r.group_levels == ("Male", "Female") and "group[Female]" in r.fixed.index
    assert r.n_obs == 107
    back = pickle.loads(pickle.dumps(r))
    pd.testing.assert_frame_equal(back.means, r.means)
