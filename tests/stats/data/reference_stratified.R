# Reference values for tests/stats/test_stratified.py.
# Run: Rscript tests/stats/data/reference_stratified.R   (R 4.x, base stats only)
# The tables are R's own data sets, printed strata first (K x I x J) as the Python function
# takes them; the values are copied into the test with 12 significant digits.
options(digits = 12)
# the table as a nested list [stratum][row][column], as Python reads it
as_list <- function(x) paste0("[", paste(sapply(seq_len(dim(x)[3]), function(k)
  paste0("[", paste(apply(x[, , k, drop = FALSE], 1, function(r) paste0("[", paste(r, collapse = ", "), "]")),
                    collapse = ", "), "]")), collapse = ", "), "]")
show <- function(name, x, ...) {
  r <- mantelhaen.test(x, ...)
  cat("==", name, "==\n")
  cat(as_list(x), "\n")
  cat("statistic", unname(r$statistic), "df", unname(r$parameter), "p", r$p.value, "\n")
  if (!is.null(r$estimate)) cat("or", unname(r$estimate), "ci", r$conf.int, "\n")
}
# 1. 2 x 2 x 6: UC Berkeley admissions, Admit x Gender by Dept
show("UCBAdmissions correct", UCBAdmissions)
show("UCBAdmissions uncorrected", UCBAdmissions, correct = FALSE)
# 2. 2 x 2 x 5: penicillin and rabbits (mantelhaen.test's help page, Rabbits)
Rabbits <- array(c(0, 0, 6, 5,  3, 0, 3, 6,  6, 2, 0, 4,  5, 6, 1, 0,  2, 5, 0, 0),
                 dim = c(2, 2, 5),
                 dimnames = list(Delay = c("None", "1.5h"), Response = c("Cured", "Died"),
                                 Penicillin.Level = c("1/8", "1/4", "1/2", "1", "4")))
show("Rabbits correct", Rabbits)
show("Rabbits uncorrected", Rabbits, correct = FALSE)
# 3. 4 x 4 x 2: job satisfaction by income and gender (help page, Satisfaction): generalized CMH
Satisfaction <- as.table(array(c(1, 2, 0, 0, 3, 3, 1, 2,  11, 17, 8, 4, 2, 3, 5, 2,
                                 1, 0, 0, 0, 1, 3, 0, 1,   2, 5, 7, 9, 1, 1, 3, 6),
                               dim = c(4, 4, 2)))
show("Satisfaction", Satisfaction)
# 4. 3 x 2 x 3 and 2 x 3 x 2 generalized (non-square) tables
x <- array(c(5, 8, 2, 7, 3, 9,  4, 6, 6, 2, 8, 3,  10, 3, 4, 5, 2, 6), dim = c(3, 2, 3))
show("3x2x3", x)
y <- array(c(6, 2, 3, 5, 1, 7,  4, 4, 2, 6, 5, 3), dim = c(2, 3, 2))
show("2x3x2", y)
# 5. a 2 x 2 x 2 whose |O - E| < 1/2: R does not apply the continuity correction
z <- array(c(3, 2, 2, 4,  2, 3, 3, 2), dim = c(2, 2, 2))
show("small delta", z)

# van Elteren. Neither coin nor sanon is installed here, so the reference is built from base R
# in two ways that share nothing with the Python code:
# (a) one stratum: van Elteren's z is the Wilcoxon rank-sum z, so wilcox.test's normal
#     approximation without continuity correction gives its p-value;
# (b) several strata: the CMH "row mean scores differ" statistic with modified ridit scores
#     (rank / (n_k + 1) within stratum), which SAS PROC FREQ documents as van Elteren's test,
#     written from Landis, Heyman & Koch (1978): sum over strata of the group's score total
#     minus its expectation, and n1 n2 / (n - 1) times the scores' population variance.
vs <- read.csv(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE),
                                                         value = TRUE))), "van_elteren.csv"))
one <- vs[vs$stratum == vs$stratum[1], ]
w <- wilcox.test(value ~ group, data = one, exact = FALSE, correct = FALSE)
cat("== van Elteren one stratum ==\nW", unname(w$statistic), "p", w$p.value, "\n")
num <- 0; den <- 0
for (s in split(vs, vs$stratum)) {
  n <- nrow(s); a <- rank(s$value) / (n + 1); g1 <- s$group == sort(unique(vs$group))[1]
  n1 <- sum(g1); n2 <- n - n1
  num <- num + sum(a[g1]) - n1 * mean(a)
  den <- den + n1 * n2 / (n - 1) * mean((a - mean(a))^2)
}
q <- num^2 / den
cat("== van Elteren modridit CMH ==\nQ", q, "z", num / sqrt(den), "p",
    pchisq(q, 1, lower.tail = FALSE), "\n")
