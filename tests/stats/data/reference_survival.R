# Reference values for tests/stats/test_survival.py.
# Run: Rscript tests/stats/data/reference_survival.R   (R 4.x, survival 3.x, MASS)
suppressMessages({library(survival); library(MASS)})
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))

# 1. Freireich et al. (1963) 6-MP leukaemia remission data (Gehan 1965; MASS::gehan;
#    Kleinbaum & Klein, Survival Analysis, ch. 2). Weeks in remission, cens = 1 relapse.
data(gehan)
for (ct in c("log", "log-log")) {
  f <- survfit(Surv(time, cens) ~ treat, data = gehan, conf.type = ct)
  s <- summary(f)
  cat("== KM by treat, conf.type =", ct, "==\n")
  print(data.frame(strata = s$strata, time = s$time, n.risk = s$n.risk, n.event = s$n.event,
                   surv = s$surv, se = s$std.err, lower = s$lower, upper = s$upper))
}
print(survdiff(Surv(time, cens) ~ treat, data = gehan))

# 2. Visit-grouped first events (visits_grouped.csv: 40 simulated subjects, visits 1, 3, 6, 12;
#    a blank event flag is a missed visit). Intervals derived here independently of Python.
v <- read.csv(file.path(here, "visits_grouped.csv"))
v <- v[v$month > 0 & !is.na(v$event), ]
iv <- do.call(rbind, lapply(split(v, v$subject), function(g) {
  g <- g[order(g$month), ]
  k <- which(g$event == 1)[1]
  if (is.na(k)) data.frame(subject = g$subject[1], group = g$group[1], left = max(g$month),
                           right = NA, time = max(g$month), status = 0)
  else data.frame(subject = g$subject[1], group = g$group[1],
                  left = if (k > 1) g$month[k - 1] else 0, right = g$month[k],
                  time = g$month[k], status = 1)
}))
print(iv)
# Kaplan-Meier on the visit-grouped times (event at the visit where it is first seen)
km <- survfit(Surv(time, status) ~ group, data = iv)
s <- summary(km); print(data.frame(strata = s$strata, time = s$time, n.risk = s$n.risk,
                                   n.event = s$n.event, surv = s$surv, se = s$std.err,
                                   lower = s$lower, upper = s$upper))
print(survdiff(Surv(time, status) ~ group, data = iv))
# Turnbull NPMLE with the widened intervals (left, right]; right = NA is right-censored
tb <- survfit(Surv(left, right, type = "interval2") ~ group, data = iv)
s <- summary(tb); print(data.frame(strata = s$strata, time = s$time, surv = s$surv))
tb1 <- survfit(Surv(left, right, type = "interval2") ~ 1, data = iv)
s <- summary(tb1); print(data.frame(time = s$time, surv = s$surv))
