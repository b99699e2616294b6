"""Table 4's rows, the paper's values for them, and the bar the table was judged against."""

# (label, mog flags), in the paper's order.
ROWS = (
    ("AGE-KL", ["--method=age", "--divergence=kl"]),
    ("f-GAN-KL", ["--method=fgan"]),
    ("AGE-H2", ["--method=age", "--divergence=hellinger"]),
    ("AGE-RevKL", ["--method=age", "--divergence=revkl"]),
    ("GAN (JS)", ["--method=gan"]),
    ("AGE-ALL", ["--method=age", "--divergence=all"]),
    ("logD-GAN", ["--method=logd"]),
    ("Hinge", ["--method=hinge"]),
)
ROW_LABELS = [label for label, _ in ROWS]
SAMPLES_DIR = "table4_samples"  # under --results_dir: every trial's generated points, kept with the table
# The paper's Table 4: modes (s.e.), KL (s.e.), mean (standard error) over 10
# trials, as printed there (kept as text: "0.2120" keeps its digits).
PAPER_VALUES = {
    "AGE-KL": ("24.9", "0.36", "0.0284", "0.0035"),
    "f-GAN-KL": ("24.1", "1.33", "0.0477", "0.0418"),
    "AGE-H2": ("24.5", "0.94", "0.0439", "0.0102"),
    "AGE-RevKL": ("21.8", "3.21", "0.2498", "0.2120"),
    "GAN (JS)": ("24.1", "1.23", "0.0462", "0.0159"),
    "AGE-ALL": ("23.2", "1.33", "0.1133", "0.0273"),
    "logD-GAN": ("20.0", "3.14", "0.3437", "0.1723"),
    "Hinge": ("20.9", "0.92", "0.1929", "0.0366"),
}
PAPER = {label: f"{m} ({m_se}) / {kl} ({kl_se})" for label, (m, m_se, kl, kl_se) in PAPER_VALUES.items()}
# Issue 3's bar: AGE-KL covers at least BAR_MODES modes with KL at most BAR_KL on
# average, and keeps the paper's order (more modes, lower KL) against each rival.
BAR_MODES, BAR_KL = 24.5, 0.05
BAR_RIVALS = ("AGE-RevKL", "logD-GAN", "Hinge")
