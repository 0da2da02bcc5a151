"""Random-effects meta-analysis and per-study log odds ratios against R ``metafor`` (``escalc``,
``rma`` with REML and DL). Reference values: tests/stats/data/reference_meta.R (metafor 3.8.1)."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from msc_sle.stats.meta import MetaResult, log_odds_ratio, random_effects_meta

# metafor's dat.bcg: tpos, tneg, cpos, cneg
BCG = [(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
       (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619),
       (505, 87886, 499, 87892), (29, 7470, 45, 7232), (17, 1699, 65, 1600),
       (186, 50448, 141, 27197), (5, 2493, 3, 2338), (27, 16886, 29, 17825)]
BCG_YI = [-0.93869414087, -1.66619072903, -1.38629436112, -1.45644354931, -0.219141085675,
          -0.958122040776, -1.63377583823, 0.0120206014527, -0.471746035839, -1.40121013928,
          -0.340849646366, 0.446634682274, -0.0173418739291]
BCG_VI = [0.357124952254, 0.208132393657, 0.43341307815, 0.0203144129732, 0.0519517773171,
          0.00990526551534, 0.227009675223, 0.00400696201215, 0.0569771239878, 0.0754217263149,
          0.0125251338202, 0.534162172475, 0.0716351172957]
ZERO = [(0, 10, 4, 6), (3, 7, 2, 9), (5, 4, 0, 6), (2, 8, 1, 9)]
ZERO_YI = [-2.6767976576, 0.656779536389, 2.76562005292, 0.810930216216]
ZERO_VI = [2.47130647131, 1.0873015873, 2.55788655789, 1.73611111111]
HOMOG_YI, HOMOG_VI = [0.10, 0.12, 0.08], [0.04, 0.05, 0.03]

# (yi, vi, method, estimate, se, ci low, ci high, p, tau2, I2, Q, Qp, weights) printed by R
R_RMA = [
    (BCG_YI, BCG_VI, "REML", -0.745177770844, 0.186027912751, -1.10978577996, -0.380569761732,
     6.18259871785e-05, 0.337772033112, 92.0726912933, 163.164915181, 1.18877259111e-28,
     [4.98007403275, 6.33927526973, 4.48742899949, 9.66425417685, 8.87972030358,
      9.95359330597, 6.12739113392, 10.1253689712, 8.76667719237, 8.37534051108, 9.87915050116,
      3.96892151963, 8.45280408222]),
    (BCG_YI, BCG_VI, "DL", -0.747392349732, 0.192262848971, -1.12422060928, -0.370564090184,
     0.000101345956156, 0.366343406726, 92.6454777446, 163.164915181, 1.18877259111e-28,
     [5.1094153097, 6.43456226874, 4.62203230528, 9.56013333011, 8.83706160258, 9.82462021044,
      6.22984934587, 9.98108985836, 8.73215457616, 8.36756917416, 9.75668316014, 4.10491660999,
      8.43991224846]),
    (ZERO_YI, ZERO_VI, "REML", 0.423786142384, 0.975988596221, -1.48911635553, 2.3366886403,
     0.664134364389, 1.94550652792, 51.5270914063, 6.16617769458, 0.103799355499,
     [21.5665399491, 31.4083088598, 21.1519119429, 25.8732392483]),
    (ZERO_YI, ZERO_VI, "DL", 0.423925142008, 0.974152737325, -1.48537913859, 2.33322942261,
     0.663436730321, 1.93156876826, 51.3474935593, 6.16617769458, 0.103799355499,
     [21.5534963859, 31.4347237167, 21.1378326923, 25.873947205]),
    (HOMOG_YI, HOMOG_VI, "REML", 0.0965957446809, 0.112986536573, -0.124853797741,
     0.318045287102, 0.392589092908, 0.0, 0.0, 0.0204255319149, 0.989839207256,
     [31.914893617, 25.5319148936, 42.5531914894]),
    (HOMOG_YI, HOMOG_VI, "DL", 0.0965957446809, 0.112986536573, -0.124853797741,
     0.318045287102, 0.392589092908, 0.0, 0.0, 0.0204255319149, 0.989839207256,
     [31.914893617, 25.5319148936, 42.5531914894]),
]


@pytest.mark.parametrize("tables, yi, vi", [(BCG, BCG_YI, BCG_VI), (ZERO, ZERO_YI, ZERO_VI)])
def test_log_odds_ratio_equals_metafor_escalc(tables, yi, vi):
    for cells, y, v in zip(tables, yi, vi):
        r = log_odds_ratio(*cells)
        assert r.estimate == pytest.approx(y, rel=1e-10)
        assert r.std_error == pytest.approx(math.sqrt(v), rel=1e-10)
        assert r.corrected == (0 in cells)


def test_log_odds_ratio_without_correction_is_undefined_with_a_zero_cell():
    r = log_odds_ratio(0, 10, 4, 6, correction=0)
    assert math.isnan(r.estimate) and not r.corrected


@pytest.mark.parametrize("yi, vi, method, est, se, lo, hi, p, tau2, i2, q, qp, weights", R_RMA)
def test_random_effects_meta_equals_metafor_rma(yi, vi, method, est, se, lo, hi, p, tau2, i2,
                                                 q, qp, weights):
    labels = [f"study {i}" for i in range(len(yi))]
    r = random_effects_meta(yi, np.sqrt(vi), method=method, labels=labels, tol=1e-12)
    assert r.method == method and r.k == len(yi) and r.labels == tuple(labels)
    assert (r.estimate, r.std_error, r.ci_low, r.ci_high) == pytest.approx((est, se, lo, hi),
                                                                           rel=1e-8)
    assert r.pvalue == pytest.approx(p, rel=1e-7)
    assert r.tau2 == pytest.approx(tau2, rel=1e-8, abs=1e-12)
    assert r.i2 == pytest.approx(i2, rel=1e-8, abs=1e-10)
    assert (r.q, r.q_pvalue) == pytest.approx((q, qp), rel=1e-9)
    assert r.weights == pytest.approx(weights, rel=1e-8)


def test_meta_result_pickles_and_refuses_bad_input():
    r = random_effects_meta(BCG_YI, np.sqrt(BCG_VI))
    assert isinstance(r, MetaResult) and pickle.loads(pickle.dumps(r)) == r
    with pytest.raises(ValueError, match="at least two"):
        random_effects_meta([0.1], [0.2])
    with pytest.raises(ValueError, match="positive"):
        random_effects_meta([0.1, 0.2], [0.2, 0.0])
    with pytest.raises(ValueError, match="unknown method"):
        random_effects_meta([0.1, 0.2], [0.2, 0.3], method="PM")
