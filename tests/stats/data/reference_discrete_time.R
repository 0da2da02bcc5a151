# Reference values for tests/stats/test_survival.py (discrete-time model, exact interval at 0 events).
# Run: Rscript tests/stats/data/reference_discrete_time.R  (R 4.2.2, stats only)
# discrete_time.csv: 60 subjects simulated once with numpy (default_rng(20261206)) on the visit grid
# 1, 3, 6, 12: x continuous, right = visit where the event was seen (event = 1) or last visit (0).
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "discrete_time.csv"))
grid <- c(1, 3, 6, 12)
pp <- do.call(rbind, lapply(seq_len(nrow(d)), function(i) {
  t <- grid[grid <= d$right[i]]
  data.frame(id = i, time = factor(t, levels = grid), x = d$x[i], y = as.integer(d$event[i] == 1 & t == d$right[i]))
}))
cat("person-periods:", nrow(pp), "\n")
f <- glm(y ~ 0 + time + x, family = binomial(link = "cloglog"), data = pp, control = glm.control(epsilon = 1e-12))
print(summary(f)$coefficients["x", ])
print(anova(glm(y ~ 0 + time, family = binomial(link = "cloglog"), data = pp,
                control = glm.control(epsilon = 1e-12)), f, test = "Chisq"))
# exact (Clopper-Pearson) interval for 0 events among k subjects
for (k in c(20, 33)) print(binom.test(0, k)$conf.int)
