"""The rule each of the seven claims is judged by, and the figures those rules name.

For: the text of the verdict rules (``RULES``, printed beside each verdict in the report), and
the numbers the rules state that several modules share -- the confidence level, the widths and
the depth the claims speak of, and the two tolerances written into the rules' text -- kept
beside the words so that they cannot drift apart.
Not for: applying a rule (each claim's module does that) or any computation.
"""

CONFIDENCE = 0.95
# Claim 1 is about these widths; claim 3's depth-20 figures are quoted at the first.
CLAIM_WIDTHS = (2, 3, 4)
HEADLINE_WIDTH = 2
TARGET_DEPTH = 20
# Exact methods summing the same terms in another order differ by rounding, about 1e-16
# relatively per operation; a billionth of the gradient's largest entry leaves room for that
# over millions of paths and is still far below anything that would change a training step.
SAME_GRADIENT_TOLERANCE = 1e-9
# Finite differences count as approximate when their best error is this many times the
# disagreement between the exact methods (or float64 rounding, where that is larger).
APPROXIMATE_FACTOR = 100.0


RULES = {
    1: "For each width 2, 3, 4, over at least 5 measured depths spanning a ratio of 4: the "
    "fits module must choose the exponential model for the counted multiplications m(D); "
    "over the deepest (up to 6) depths timed at 10 x the shallowest or more, where "
    "arithmetic is at least 90% of the time, the 95% interval of the base b of "
    "log((t - c0 - c1 D) / (2D + 1)) = a + D log b must lie above 1 (c0, c1 as fitted "
    "next); and the time must follow the counts: the power law with overhead t = c0 + "
    "c1 D^k must not beat the better (by AIC) of t = c0 + s m(D) and t = c0 + c1 D + s m(D) "
    "(a fixed cost per call, a cost per layer, a rate per counted multiplication) by 2 or "
    "more in AIC on log time. Holds when all this is so at every width; does not hold when "
    "the counts are polynomial or b's interval lies at or below 1 at some width; undecided "
    "otherwise (too few depths, a width not measured, or a time that strays from the "
    "counts, which a burst of other work during one cell can cause). Whether b's interval "
    "contains the width is reported beside, with the raw per-layer factor of log t = a + "
    "D log b, which also contains the lengthening of the paths (2D + 1 multiplications "
    "each).",
    2: "At each width, backprop's counted multiplications must be exactly affine in depth "
    "(every second difference 0, in integers), and over at least 5 measured depths spanning "
    "a ratio of 4 the 95% interval of k in t = c0 + c1 D^k (a power law plus a fixed cost per "
    "call) must lie within 0.71 .. 1.41, halfway on a log scale between linear (1) and its "
    "neighbouring classes (1/2 and 2). A width does not hold when the counts are not affine, "
    "when the fits module chooses the exponential model for time, or when k's interval lies "
    "outside that band; it is undecided otherwise. The claim holds when some width holds and "
    "none does not; the straight line a + b D's slope and R^2 are reported beside.",
    3: "The ratio naive / backprop at depth 20 and width 2, in counted multiplications (from "
    "the cost models, which must equal the counters in every measured cell) and in time "
    "(measured, or extrapolated with its 95% interval and marked so), counts as 'about a "
    "million' when its interval lies within a factor 10 of 10^6. Holds when both do; does "
    "not hold when either interval lies wholly outside 10^5 .. 10^7; undecided otherwise.",
    4: f"Holds when every naive gradient of the sweep was compared with backprop's and the "
    f"largest max |naive - backprop| / max |backprop| is at most {SAME_GRADIENT_TOLERANCE:g}; "
    "does not hold when one is larger or not a number; undecided when no naive cell ran.",
    5: "Counted loss evaluations must be exactly P + 1 (forward) and 2P (central) at every "
    "measured network, and the smallest float64 error against backprop over all steps must "
    f"exceed {APPROXIMATE_FACTOR:g} times the exact methods' disagreement (or float64 "
    "rounding, if larger). Does not hold when a count differs or an error is that small; "
    "undecided when the sweep or the step experiment did not run. Times relative to "
    "backprop are reported, not judged.",
    6: "Every learning rate in (0, 1) must converge (|x_(k+1) / x_k| < 1), rate 1 must keep "
    "|x_k| = x0 with a sign flip at every step of the whole run, and every rate above 1 must "
    "diverge, as read from the iterates. Does not hold when one rate behaves otherwise; "
    "undecided when a side (below 1, 1, above 1) was not tried.",
    7: "Counted multiplications per update must have log-log slope exactly 0 (per-sample SGD) "
    "and 1 (full-batch GD) against the data-set size; the 95% interval of the slope of median "
    "time must come within 0.1 of the claimed slope and exclude the other one. Does not "
    "hold when a counted slope differs or a time interval lies wholly outside 0.1 of its "
    "claimed slope; undecided when an "
    "interval contains both 0 and 1.",
}
