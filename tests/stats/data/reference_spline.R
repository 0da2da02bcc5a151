# Reference values for tests/stats/test_functional_form.py.
# Run: Rscript tests/stats/data/reference_spline.R  (R 4.2.2, rms 6.5.0, Hmisc)
# spline_cohort.csv: 69 rows simulated once with numpy (default_rng(20261207)); not patient data.
suppressMessages(library(rms))
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "spline_cohort.csv"))
cat("knots age:", rcspline.eval(d$age, nk = 4, knots.only = TRUE), "\n")
cat("knots dur:", rcspline.eval(d$dur, nk = 4, knots.only = TRUE), "\n")
print(head(rcspline.eval(d$age, nk = 4), 3))
for (v in c("age", "dur")) {
  other <- setdiff(c("age", "dur", "ln"), v)
  lin <- lrm(as.formula(paste("y ~", paste(c(v, other), collapse = " + "))), data = d)
  spl <- lrm(as.formula(paste("y ~ rcs(", v, ", 4) +", paste(other, collapse = " + "))), data = d)
  cat(v, "LR:\n"); print(lrtest(lin, spl)$stats)
  a <- anova(spl); cat(v, "Wald nonlinear:\n"); print(a[" Nonlinear", ])
}
