# Reference values for tests/stats/test_models.py::test_bootstrap_ml_keeps_separated_samples_as_rms.
# Run: Rscript tests/stats/data/reference_validation_separated.R  (R 4.2.2, rms 6.5.0)
# validation_separated.csv: 69 rows, simulated once with numpy (default_rng(20260601)) and stored;
# b is 0 in 6 rows, 5 of them without the event, so every bootstrap sample that misses the one
# event among them is quasi-separated (about a third). Nothing here is patient data.
suppressMessages(library(rms))
options(digits = 12)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "validation_separated.csv"))
n <- nrow(d); B <- 300
f <- lrm(y ~ x1 + x2 + b, data = d, x = TRUE, y = TRUE)
set.seed(23); v <- validate(f, method = "boot", B = B)
set.seed(23); idx <- replicate(B, sample(n, replace = TRUE))
write.table(t(idx) - 1L, file.path(here, "validation_separated_resamples.csv"), sep = ",",
            row.names = FALSE, col.names = FALSE)
print(v[c("Dxy", "Intercept", "Slope", "B"), ])
# how many of the B samples leave the 6 rows with b = 0 without an event (quasi-separated)
cat("separated:", sum(apply(idx, 2, function(i) !any(d$y[i][d$b[i] == 0] == 1))), "\n")
