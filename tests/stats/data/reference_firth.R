# Reference values for tests/stats/test_models.py (Firth and ML logistic regression).
# Run: Rscript tests/stats/data/reference_firth.R   (R 4.x with brglm2; logistf is not in Debian)
# Independent of the Python code: brglm2 (type = "AS_mean", i.e. Firth's mean bias reduction)
# gives estimates and standard errors; the profile penalised-likelihood CIs and penalised LR
# tests are computed here by hand, with logistf's conventions (the constrained fits keep the
# full-model Jeffreys penalty), by Newton on the free coordinates and uniroot at tol 1e-12.
# pw = 0.5 is Firth; pw = 0 the ordinary likelihood (profile-likelihood CIs of the MLE).
suppressMessages(library(brglm2))
options(digits = 12)
pw <- 0.5
penll <- function(beta, X, y) {
  eta <- drop(X %*% beta); p <- plogis(eta)
  ll <- sum(y * eta - log1p(exp(eta)))
  ll + pw * determinant(crossprod(X, X * (p * (1 - p))), logarithm = TRUE)$modulus[1]
}
# maximise the penalised loglik over the free coordinates (others fixed)
fit_free <- function(beta, free, X, y, tol = 1e-12) {
  for (it in 1:500) {
    eta <- drop(X %*% beta); p <- plogis(eta); w <- p * (1 - p)
    I <- crossprod(X, X * w)
    Xw <- X * sqrt(w); h <- rowSums((Xw %*% solve(I)) * Xw)
    U <- drop(crossprod(X, y - p + 2 * pw * h * (0.5 - p)))
    d <- solve(I[free, free, drop = FALSE], U[free])
    old <- penll(beta, X, y); step <- 1
    repeat { nb <- beta; nb[free] <- beta[free] + step * d
             if (penll(nb, X, y) >= old - 1e-13 || step < 1e-8) break; step <- step / 2 }
    beta <- nb
    if (max(abs(step * d)) < tol) break
  }
  beta
}
firth_ref <- function(X, y, level = 0.95) {
  k <- ncol(X); bhat <- fit_free(rep(0, k), 1:k, X, y); lhat <- penll(bhat, X, y)
  crit <- qchisq(level, 1)
  prof <- function(j, b) { s <- bhat; s[j] <- b; s <- fit_free(s, setdiff(1:k, j), X, y); 2 * (lhat - penll(s, X, y)) }
  out <- t(sapply(1:k, function(j) {
    se <- sqrt(diag(solve(crossprod(X, X * (plogis(drop(X %*% bhat)) * (1 - plogis(drop(X %*% bhat))))))))[j]
    f <- function(b) prof(j, b) - crit
    lo <- bhat[j] - se; while (f(lo) < 0) lo <- lo - se
    hi <- bhat[j] + se; while (f(hi) < 0) hi <- hi + se
    lower <- uniroot(f, c(lo, bhat[j]), tol = 1e-12)$root
    upper <- uniroot(f, c(bhat[j], hi), tol = 1e-12)$root
    chisq <- prof(j, 0)
    c(coef = bhat[j], lower = lower, upper = upper, chisq = chisq, p = pchisq(chisq, 1, lower.tail = FALSE))
  }))
  rownames(out) <- colnames(X)
  list(table = out, loglik = lhat)
}
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
run <- function(d, yname, label) {
  if ("count" %in% names(d)) d <- d[rep(seq_len(nrow(d)), d$count), setdiff(names(d), "count")]
  y <- d[[yname]]; X <- cbind("(Intercept)" = 1, as.matrix(d[setdiff(names(d), yname)]))
  cat("\n==", label, "==\n")
  if (pw > 0) {
    b <- glm(as.formula(paste(yname, "~ .")), data = d, family = binomial, method = "brglmFit",
             type = "AS_mean", epsilon = 1e-12, maxit = 500)
    cat("brglm2 AS_mean coef / se:\n"); print(coef(b)); print(sqrt(diag(vcov(b))))
  } else {
    g <- glm(as.formula(paste(yname, "~ .")), data = d, family = binomial)
    cat("glm coef / se:\n"); print(coef(g)); print(sqrt(diag(vcov(g))))
  }
  r <- firth_ref(X, y); print(r$table); cat("log-likelihood", r$loglik, "\n")
}
# Heinze & Schemper (2002) example: endometrial cancer, NV quasi-completely separates HG.
endo <- read.csv(file.path(here, "endometrial.csv"))
run(endo, "HG", "endometrial, Firth")
# logistf's sex2 (urinary tract infection; dia quasi-separated), stored aggregated with counts.
run(read.csv(file.path(here, "sex2_agg.csv")), "case", "sex2, Firth")
# Complete separation: a 2x2 table with empty off-diagonal cells (Firth = adding 1/2 to each
# cell, so the log odds ratio is log(3.5 * 3.5 / (0.5 * 0.5)) = log(49)).
run(data.frame(x = c(0, 0, 0, 1, 1, 1), y = c(0, 0, 0, 1, 1, 1)), "y", "2x2 complete separation")
# Complete separation by a continuous predictor, with a second (non-separating) predictor.
run(data.frame(x = 1:8, z = c(1, 0, 1, 1, 0, 1, 0, 0), y = c(0, 0, 0, 0, 1, 1, 1, 1)), "y",
    "continuous complete separation")
# Ordinary ML with profile-likelihood CIs where the MLE exists (endometrial without NV).
pw <- 0
run(endo[, c("PI", "EH", "HG")], "HG", "endometrial PI + EH, ML profile")
