"""Wall time of one Table 4 AGE-KL trial (30 epochs), ours against the authors' code, back to back.

    python benchmarks/time_to_quality.py --authors_dir=AUTHORS_DIR [--seed=0] [--precision=auto[,float32]]
        [--which=ours,authors] [--output=benchmarks/results/time_to_quality.json]

Ours is ``python -m age_tf.experiments.mog --flagfile=experiments/table4/mog25_age_kl.flags``
(the paper's Section 5.2.1 setting: imbalanced 25 Gaussians, deterministic E and G, 5 D steps,
batch 500, 30 epochs), in a process of its own, with the training time it reports. Theirs is
their ``train_age`` (``experiments/authors_code.py``), unmodified, on the CPU, with their own
mixture, data loader and networks (``authors_step.CONFIGS['mog25']``), for 30 epochs of
``len(data) // 500`` iterations, the same count as ours (their mixture is ours: 25 means 2 apart, std 0.3, 10,000 or 500 points a mode). Their generator is then scored with our
``mode_coverage`` metric (10,000 samples, as our run scores itself), so both KLs come from one
piece of code. Each side prints one JSON line; the parent writes them together with the machine
and the date. AUTHORS_DIR is a checkout of github.com/xwshen51/AGE with torch installed; neither
is a dependency of age_tf.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGFILE = os.path.join(ROOT, "experiments", "table4", "mog25_age_kl.flags")
EPOCHS = 30
EVAL_SAMPLES = 10_000


def ours(seed: int, precision: str, epochs: int = EPOCHS) -> dict:
    """Trains our Table 4 AGE-KL trial in a fresh process and reads its metrics."""
    sys.path.insert(0, ROOT)
    from age_tf.experiments import run_directory

    with tempfile.TemporaryDirectory() as output_dir:
        command = [sys.executable, "-m", "age_tf.experiments.mog", f"--flagfile={FLAGFILE}", f"--seed={seed}",
                   f"--output_dir={output_dir}", "--notensorboard", f"--epochs={epochs}", f"--precision={precision}"]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        with open(os.path.join(output_dir, "metrics.json")) as f:
            metrics = json.load(f)
        with open(os.path.join(output_dir, "run_info.json")) as f:
            train_s = json.load(f)["train_seconds"]
        used = run_directory.saved_flag(output_dir, "precision")
    return {"kind": "ours", "precision": used, "wall_s": wall, "train_s": train_s,
            "modes_covered": metrics["modes_covered"], "mode_kl": metrics["mode_kl"],
            "off_mode_fraction": metrics["off_mode_fraction"], "iterations": metrics["encoder_generator_steps"]}


class _AuthorsGenerator:
    """Their trained model behind our metrics' ``generate(n)``: x = G(z), z ~ N(0, I)."""

    def __init__(self, model, latent_dim):
        self.model, self.latent_dim = model, latent_dim

    def generate(self, num):
        import torch

        with torch.no_grad():
            return self.model(z=torch.randn(num, self.latent_dim)).numpy()


def authors(authors_dir: str, seed: int, epochs: int = EPOCHS) -> dict:
    """Their 30-epoch trial on their mixture, timed, then scored with our mode_coverage."""
    import torch

    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import authors_step
    from age_tf import data
    from age_tf.metrics import modes
    from experiments import authors_code

    never = str(10 ** 9)
    train, bgm = authors_code.load(authors_dir, [*authors_step.CONFIGS["mog25"].split(), "--print_every", never,
                                                 "--sample_every", never, "--seed", str(seed)])
    import utils  # theirs, on the path authors_code.load set

    train.device = torch.device("cpu")
    train.log_file = io.StringIO()
    torch.manual_seed(seed)
    train_loader, _ = utils.make_dataloader(train.args)
    train.num_iter_per_epoch = len(train_loader.dataset) // train.args.batch_size
    model, discriminator, (e_opt, g_opt, d_opt), _ = authors_step.build(train, bgm, "mog25")
    stdout, sys.stdout = sys.stdout, io.StringIO()  # their loop prints the losses of each epoch's first iteration
    start = time.perf_counter()
    try:
        for epoch in range(1, epochs + 1):
            train.train_age(epoch, model, discriminator, e_opt, g_opt, d_opt, train_loader, 10 ** 9, "", 10 ** 9)
    finally:
        sys.stdout = stdout
    train_s = time.perf_counter() - start
    model.eval()
    mixture = data.grid_mixture(25, True, seed=0)
    torch.manual_seed(seed + 1)
    scores = modes.mode_coverage(_AuthorsGenerator(model, train.args.latent_dim), mixture, EVAL_SAMPLES)
    return {"kind": "authors", "precision": "float32", "train_s": train_s, "wall_s": train_s,
            "modes_covered": scores["modes_covered"], "mode_kl": scores["mode_kl"],
            "off_mode_fraction": scores["off_mode_fraction"], "iterations": epochs * train.num_iter_per_epoch,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authors_dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto",
                        help="a precision of the mixtures entry point (auto, float32, ...), or several with commas: "
                             "ours trains once for each")
    parser.add_argument("--which", default="ours,authors")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="30 in Table 4; fewer only to try the script")
    parser.add_argument("--output", default="")
    parser.add_argument("--worker", choices=["ours", "authors"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "authors":
        print(json.dumps(authors(args.authors_dir, args.seed, args.epochs)))
        return 0
    if not set(args.which.split(",")) <= {"ours", "authors"}:
        parser.error(f"--which={args.which}: name ours, authors or both with a comma, e.g. --which=authors,ours.")
    sys.path.insert(0, ROOT)
    from age_tf.experiments import hardware, run_flags

    choices = (run_flags.AUTO_PRECISION, *run_flags.PRECISIONS)  # what the mixtures entry point takes
    precisions = args.precision.split(",")
    unknown = [p for p in precisions if p not in choices]
    if unknown:
        parser.error(f"--precision {','.join(unknown)} is not one of {', '.join(choices)}; give one or several "
                     "with commas, e.g. --precision=mixed_bfloat16,float32.")
    if not os.path.isfile(os.path.join(args.authors_dir, "train.py")):
        parser.error(f"--authors_dir {args.authors_dir} has no train.py: give a checkout of github.com/xwshen51/AGE.")

    started = datetime.datetime.now(datetime.timezone.utc)  # the date of a run is when it started, as speed.py's
    results = []
    for which in args.which.split(","):
        if which == "ours":
            runs = [ours(args.seed, precision, args.epochs) for precision in precisions]
        else:
            line = subprocess.run([sys.executable, __file__, "--worker=authors", f"--authors_dir={args.authors_dir}",
                                   f"--seed={args.seed}", f"--epochs={args.epochs}"], check=True, capture_output=True, text=True).stdout
            runs = [json.loads(line.strip().splitlines()[-1])]
        for run in runs:
            print(json.dumps(run), flush=True)
        results += runs
    record = {"command": "python " + " ".join(sys.argv), "machine": hardware.machine_description(),
              "date": started.isoformat(timespec="minutes"),
              "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
              "seed": args.seed, "epochs": args.epochs, "results": results}
    if args.output:
        with open(args.output, "w") as f:
            json.dump(record, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
