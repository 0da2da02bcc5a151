# Reference values for tests/stats/test_estimability.py.
# Run: Rscript tests/stats/data/reference_estimability.R  (R 4.2.2, brglm2 0.9)
# firth_68_of_69.csv: 69 rows simulated once with numpy (default_rng(34)), 68 events, 4 predictors;
# nothing here is patient data.
suppressMessages(library(brglm2))
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "firth_68_of_69.csv"))
X <- cbind(1, as.matrix(d[, c("age10", "duration12", "score", "flag")]))
pll <- function(b) {
  eta <- drop(X %*% b); p <- plogis(eta); w <- p * (1 - p)
  sum(d$y * eta - log1p(exp(eta))) + 0.5 * determinant(crossprod(X * sqrt(w)))$modulus[1]
}
# 1. Firth from the default start (brglm2, as logistf and firthmodels start from zero)
f <- glm(y ~ age10 + duration12 + score + flag, data = d, family = binomial, method = "brglmFit",
         type = "AS_mean", epsilon = 1e-10)
cat("brglm2 coef:", coef(f), "\n"); cat("penalised loglik at brglm2:", pll(coef(f)), "\n")
# 2. The same penalised likelihood maximised by optim (BFGS) from other starts
starts <- list(c(5, 0, 0, 0, 0), c(0, 1, -1, 0, 2), c(3, -1, 0.5, 0.1, 0))
best <- sapply(starts, function(s) optim(s, pll, method = "BFGS", control = list(fnscale = -1, reltol = 1e-14,
                                                                                maxit = 5000))$value)
cat("penalised loglik from other starts:", best, "\n")
# (detectseparation is not installed here: the LP test is checked against firthmodels.detect_separation
# and hand-made separated data instead.)
