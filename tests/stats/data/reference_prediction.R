# Reference values for tests/stats/test_prediction.py and tests/test_prediction_report.py
# (FLIC, uniform shrinkage, bootstrap intervals of the corrected c-statistic and slope).
# Run: Rscript tests/stats/data/reference_prediction.R [/tmp/tripod]   (R 4.x with brglm2)
# Part 3 needs the exact model data of 07_models' default model and the bootstrap samples of its
# default seed, written to that folder by tests/stats/data/dump_model_data.py (not stored: they
# are rows of the bundled SYNTHETIC cohort).
# Firth = brglm2 glm(method = "brglmFit", type = "AS_mean"); FLIC (Puhr et al. 2017) = the Firth
# slopes kept, the intercept refitted by ML: glm(y ~ 1, offset = Firth lp minus intercept).
# Percentile intervals use quantile(type = 7).
suppressMessages(library(brglm2))
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
args <- commandArgs(TRUE)
tmp <- if (length(args)) args[1] else "/tmp/tripod"

# Started from zero as firthmodels is: from glm's default start brglm2 diverges on some resamples
# of the 07 model where active lupus nephritis is nearly constant (67-68 of 69), fitted
# probabilities of 0 or 1 and coefficients near 1e15, while from zero it converges to the maximum.
# A fit that does not converge counts as failed.
firth <- function(f, d) {
  g <- glm(f, data = d, family = binomial, method = "brglmFit", type = "AS_mean", epsilon = 1e-12,
           maxit = 500, start = rep(0, length(all.vars(f))))
  if (!g$converged) stop("no convergence")
  coef(g)
}
refit <- function(y, off) unname(coef(glm(y ~ 1, offset = off, family = binomial,
                                          control = glm.control(epsilon = 1e-14, maxit = 100)))[1])
perf <- function(y, lp) {
  cs <- unname(Hmisc::somers2(plogis(lp), y)["C"])
  cal <- if (cs %in% c(0, 1)) c(NA, NA) else coef(glm(y ~ lp, family = binomial))
  c(C = cs, Intercept = unname(cal[1]), Slope = unname(cal[2]))
}
# the optimism loop on given resamples; returns apparent, per-sample bootstrap and test measures
loop <- function(f, d, X, idx) {
  b0 <- firth(f, d); app <- perf(d$y, drop(cbind(1, X) %*% b0))
  res <- apply(idx, 2, function(i) {
    bb <- tryCatch(firth(f, d[i, ]), error = function(e) rep(NA, ncol(X) + 1))
    if (anyNA(bb)) return(rep(NA, 6))
    c(perf(d$y[i], drop(cbind(1, X[i, ]) %*% bb)), perf(d$y, drop(cbind(1, X) %*% bb)))
  })
  boot <- t(res[1:3, ]); test <- t(res[4:6, ])
  colnames(boot) <- colnames(test) <- names(app)
  list(app = app, boot = boot, test = test)
}
intervals <- function(L) {
  ok <- complete.cases(L$boot) & complete.cases(L$test)
  opt <- colMeans(L$boot[ok, ] - L$test[ok, ])
  corr <- L$app - opt
  cat("corrected:\n"); print(corr)
  cat("c shifted:\n"); print(quantile(L$boot[ok, "C"] - opt["C"], c(.025, .975), type = 7))
  cat("slope replicates:\n"); print(quantile(L$app["Slope"] - (L$boot[ok, "Slope"] - L$test[ok, "Slope"]),
                                             c(.025, .975), type = 7))
  cat("refits used:", sum(ok), "\n")
  corr
}

# 1. FLIC and a fixed shrinkage on the endometrial data (Heinze & Schemper 2002)
e <- read.csv(file.path(here, "endometrial.csv"))
be <- firth(HG ~ NV + PI + EH, e)
lpe <- drop(as.matrix(e[, c("NV", "PI", "EH")]) %*% be[-1])
cat("endometrial Firth intercept:", be[1], "\n")
cat("endometrial FLIC intercept:", refit(e$HG, lpe), "\n")
cat("endometrial intercept with slopes x 0.8:", refit(e$HG, 0.8 * lpe), "\n")
cat("endometrial mean Firth risk:", mean(plogis(be[1] + lpe)), " observed:", mean(e$HG), "\n")

# 2. intervals on the stored validation cohort and its 200 stored resamples
v <- read.csv(file.path(here, "validation_cohort.csv"))
vi <- t(as.matrix(read.csv(file.path(here, "validation_resamples.csv"), header = FALSE))) + 1L
Xv <- as.matrix(v[, c("x1", "x2", "b1", "b2", "x3")])
cat("== validation cohort, Firth loop, 200 resamples\n")
invisible(intervals(loop(y ~ x1 + x2 + b1 + b2 + x3, v, Xv, vi)))

# 3. 07_models' default model on the bundled SYNTHETIC cohort, its 1000 resamples
if (file.exists(file.path(tmp, "model_data.csv"))) {
  m <- read.csv(file.path(tmp, "model_data.csv"))
  mi <- t(as.matrix(read.csv(file.path(tmp, "model_resamples.csv"), header = FALSE))) + 1L
  preds <- setdiff(names(m), "y"); Xm <- as.matrix(m[, preds])
  f <- reformulate(preds, "y")
  bm <- firth(f, m); lpm <- drop(Xm %*% bm[-1])
  cat("== 07 model: Firth coefficients\n"); print(bm)
  flic <- refit(m$y, lpm)
  cat("FLIC intercept:", flic, "\n")
  cat("mean risk Firth:", mean(plogis(bm[1] + lpm)), " FLIC:", mean(plogis(flic + lpm)), " observed:", mean(m$y), "\n")
  ml <- glm(f, data = m, family = binomial)
  lr <- ml$null.deviance - ml$deviance
  cat("ML LR chi2:", lr, " p:", pchisq(lr, length(preds), lower.tail = FALSE),
      " heuristic shrinkage:", (lr - length(preds)) / lr, "\n")
  # Cox-Snell R2 and its maximum from the fitted log-likelihoods (Riley et al. 2019, eq. 23)
  ll0 <- as.numeric(logLik(glm(y ~ 1, data = m, family = binomial)))
  cat("Cox-Snell R2:", 1 - exp(-lr / nrow(m)), " max:", 1 - exp(2 * ll0 / nrow(m)), "\n")
  cat("== 07 model, Firth loop, 1000 resamples\n")
  L <- loop(f, m, Xm, mi)
  write.csv(cbind(L$boot, L$test), file.path(tmp, "R_replicates.csv"), row.names = FALSE)
  corr <- intervals(L)
  s <- unname(corr["Slope"])
  cat("shrunk slopes:\n"); print(s * bm[-1])
  cat("shrunk intercept:", refit(m$y, s * lpm), "\n")
}
