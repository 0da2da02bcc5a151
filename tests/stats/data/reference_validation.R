# Reference values for tests/stats/test_models.py (bootstrap validation, c-statistic, lowess).
# Run: Rscript tests/stats/data/reference_validation.R  (R 4.x; rms, Hmisc, brglm2)
# validation_cohort.csv: 69 rows, 37 events, 5 predictors, simulated once with numpy
# (default_rng(20190601)) and stored; nothing here is patient data.
suppressMessages({library(rms); library(brglm2)})
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "validation_cohort.csv"))
n <- nrow(d); B <- 200

# 1. rms::validate with the ordinary ML fit (lrm); its bootstrap draws are
#    sample(n, replace = TRUE) per replicate, reproduced here and stored 0-based.
f <- lrm(y ~ x1 + x2 + b1 + b2 + x3, data = d, x = TRUE, y = TRUE)
set.seed(2019); v <- validate(f, method = "boot", B = B)
set.seed(2019); idx <- replicate(B, sample(n, replace = TRUE))
write.table(t(idx) - 1L, file.path(here, "validation_resamples.csv"), sep = ",",
            row.names = FALSE, col.names = FALSE)
print(v[c("Dxy", "Intercept", "Slope", "B"), ])

# 2. The same optimism loop with Firth fits (brglm2, AS_mean) on the same resamples.
X <- as.matrix(d[, c("x1", "x2", "b1", "b2", "x3")])
perf <- function(y, lp) {
  cs <- unname(Hmisc::somers2(plogis(lp), y)["C"])
  cal <- if (cs %in% c(0, 1)) c(NA, NA) else coef(glm(y ~ lp, family = binomial))
  c(C = cs, Intercept = unname(cal[1]), Slope = unname(cal[2]), B = mean((plogis(lp) - y)^2))
}
firth_coef <- function(dd) coef(glm(y ~ x1 + x2 + b1 + b2 + x3, data = dd, family = binomial,
                                    method = "brglmFit", type = "AS_mean", epsilon = 1e-10))
b0 <- firth_coef(d); lp0 <- drop(cbind(1, X) %*% b0)
app <- perf(d$y, lp0)
opt <- t(apply(idx, 2, function(i) {
  bb <- firth_coef(d[i, ]); perf(d$y[i], drop(cbind(1, X[i, ]) %*% bb)) - perf(d$y, drop(cbind(1, X) %*% bb))
}))
cat("Firth apparent:\n"); print(app)
cat("Firth optimism:\n"); print(colMeans(opt))
cat("Firth corrected:\n"); print(app - colMeans(opt))

# 3. c-statistic and calibration of the full-data ML fit; lowess smooth (as rms::calibrate).
p <- plogis(f$linear.predictors)
print(Hmisc::somers2(p, d$y))
print(val.prob(p, d$y, pl = FALSE)[c("C (ROC)", "Intercept", "Slope", "Brier")])
lw <- lowess(p, d$y, iter = 0)
print(lw$y[c(1, 10, 20, 35, 50, 69)])
