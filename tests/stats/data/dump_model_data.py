"""Write the exact data 07_models' default model uses, and the bootstrap samples its default seed
draws, for tests/stats/data/reference_prediction.R (to /tmp: nothing here is stored in the repo).

    .venv/bin/python tests/stats/data/dump_model_data.py /tmp/tripod
"""
import sys
from pathlib import Path

import numpy as np

from msc_sle.clinical import apply_eligibility, load_cohort
from msc_sle.prognosis import model_data, response_label
from msc_sle.workbook.notebook import frame_for
from msc_sle.workbook.params import check_parameters

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
params = check_parameters()
cohort = apply_eligibility(load_cohort()).cohort
definition = params.outcome_definition()
frame = frame_for(cohort, params, {params.outcome: definition})
data = model_data(frame, f"{params.outcome}_ever", params.names("predictors"), label=response_label(definition))
data.X.assign(y=data.y.to_numpy()).to_csv(out / "model_data.csv", index=False)
# the draws of msc_sle.stats.models.bootstrap_validation for this seed, 0-based
idx = np.random.default_rng(params.seed).integers(0, data.n, size=(params.n_bootstrap, data.n))
np.savetxt(out / "model_resamples.csv", idx, fmt="%d", delimiter=",")
