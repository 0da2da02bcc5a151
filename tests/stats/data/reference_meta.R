# Reference values for tests/stats/test_meta.py.
# Run: Rscript tests/stats/data/reference_meta.R   (R 4.x, metafor 3.8.1 here)
# REML is iterated to a tight threshold so that both sides report the REML maximum itself, not
# where each stops at metafor's default threshold of 1e-5.
suppressMessages(library(metafor))
options(digits = 12)
cat("metafor", as.character(packageVersion("metafor")), "\n")
show <- function(name, es) {
  cat("==", name, "==\n")
  cat("yi", es$yi, "\nvi", es$vi, "\n")
  for (m in c("REML", "DL")) {
    r <- rma(yi, vi, data = es, method = m, control = list(threshold = 1e-12, maxiter = 1000))
    cat(m, "estimate", c(r$beta), "se", r$se, "ci", r$ci.lb, r$ci.ub, "p", r$pval, "\n",
        "  tau2", r$tau2, "I2", r$I2, "Q", r$QE, "Qp", r$QEp, "k", r$k, "\n",
        "  weights", weights(r), "\n")
  }
}
# 1. BCG vaccine trials (metafor's dat.bcg; Colditz et al. 1994): 13 log odds ratios
show("bcg", escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
# 2. four small centres, two with a zero cell: escalc adds 1/2 to every cell of those only
small <- data.frame(a = c(0, 3, 5, 2), b = c(10, 7, 4, 8), c = c(4, 2, 0, 1), d = c(6, 9, 6, 9))
show("zero cells", escalc(measure = "OR", ai = a, bi = b, ci = c, di = d, data = small))
# 3. homogeneous estimates: tau^2 = 0 at the boundary for both methods
show("homogeneous", data.frame(yi = c(0.10, 0.12, 0.08), vi = c(0.04, 0.05, 0.03)))
