# Reference values for tests/stats/test_longitudinal.py.
# Run: Rscript tests/stats/data/reference_longitudinal.R   (R 4.x, nlme, geepack)
# Data: Potthoff & Roy (1964) orthodontic growth, nlme::Orthodont (Pinheiro & Bates 2000,
# Mixed-Effects Models in S and S-PLUS, sections 1.4 and 4.x): distance (mm) at ages 8, 10, 12,
# 14 in 16 boys and 11 girls; stored as orthodont.csv.
suppressMessages({library(nlme); library(geepack)})
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "orthodont.csv"))
d$Sex <- factor(d$Sex, levels = c("Female", "Male")); d$age <- factor(d$age)
fits <- function(dd, label) {
  cat("\n==", label, "==\n")
  m <- lme(distance ~ age * Sex, random = ~ 1 | Subject, data = dd, method = "REML")
  print(fixef(m)); print(sqrt(diag(vcov(m))))
  print(VarCorr(m)); cat("REML logLik", logLik(m), "\n")
  print(anova(m)["age:Sex", ])
  # marginal means: L b and sqrt(L V L') for every Sex x age cell
  nd <- expand.grid(age = levels(dd$age), Sex = levels(dd$Sex))
  L <- model.matrix(~ age * Sex, nd)
  print(data.frame(nd, mean = drop(L %*% fixef(m)), se = sqrt(diag(L %*% vcov(m) %*% t(L)))))
  full <- update(m, method = "ML"); red <- update(full, distance ~ age + Sex)
  print(anova(red, full))
  dg <- dd[order(dd$Subject), ]; dg$id <- as.integer(factor(dg$Subject))
  g <- geeglm(distance ~ age * Sex, id = id, data = dg, corstr = "exchangeable")
  print(summary(g)$coefficients); print(summary(g)$corr); print(summary(g)$dispersion)
}
fits(d, "Orthodont, complete")
# unbalanced: drop every 7th row (missing visits)
fits(d[-seq(3, nrow(d), by = 7), ], "Orthodont, rows 3, 10, 17, ... dropped")
