"""Training and evaluation speed of age_tf, against this machine's matmul ceiling.

    python benchmarks/speed.py                       # everything (about 10 minutes on 2 cores)
    python benchmarks/speed.py --configs=mog25 --jit=off --iterations=20

Prints a table and writes the same as JSON (``--output``). For each training
config, precision and jit setting: seconds per iteration (median of
``--iterations`` after ``--warmup`` untimed ones, with min and max), examples
per second, the FLOPs of one iteration counted from the layer shapes
(``age_tf.flops``), the achieved GFLOP/s and that as a share of the measured
matmul rate of the same precision and oneDNN setting (the ceiling). Each run
uses the oneDNN setting of the entry point that trains that config (on for
Stacked MNIST, TensorFlow's default for the mixtures) unless
TF_ENABLE_ONEDNN_OPTS is set, which then applies to all. Each measurement runs in a
fresh process, so a precision policy or an XLA cache never leaks into the next.

Configs (one iteration = ``d_steps`` D steps and one E/G step, Algorithm 1):

- ``mog9``: 9 Gaussians, Gaussian encoder and generator, batch 800, 30 D
  steps (Section 5.1, the authors' script's batch size), networks of Appendix E.1;
- ``mog25``: the README demo, deterministic E and G, batch 500, 5 D steps;
- ``stacked_mnist``: Tables 8-10, Gaussian encoder, implicit generator,
  batch 64, one D step.

Evaluation: the mixture metrics on 10,000 generated points and Stacked MNIST's
metrics (``age_tf.metrics.stacked_mnist.evaluate``) on 26,000: the first
evaluation of a run, and again with the evaluation images' classifier features
cached, as a run's later periodic evaluations find them.

The step is ``model.train_step`` wrapped in ``tf.function`` as ``fit`` wraps it,
timed on one fixed batch already in memory, so input pipelines are not timed.
With ``--authors_dir`` the authors' PyTorch iteration of each config runs right after ours
(``authors_step.py``), and a table gives their seconds over ours. ``--rounds=N`` repeats ours
and theirs N times, alternating, and gives the median of the rounds' ratios with its range: on
a shared machine one pair of timings can move by 10-30%.

Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The full MNIST files: $AGE_TF_MNIST_DIR, else ../shared/data/mnist beside the clone (as the slow tests).
MNIST_DIR = os.environ.get("AGE_TF_MNIST_DIR") or os.path.join(ROOT, "..", "shared", "data", "mnist")
CONFIGS = {
    "mog9": dict(batch_size=800, d_steps=30),
    "mog25": dict(batch_size=500, d_steps=5),
    "stacked_mnist": dict(batch_size=64, d_steps=1),
}
PRECISIONS = ("float32", "mixed_bfloat16")
# Runs whose entry point turns oneDNN on (age_tf.experiments.stacked_mnist calls
# hardware.relaunch_with_onednn, BUILD_NOTES "The speed harness"); the others keep
# TensorFlow's default, as the mixture entry point does. A TF_ENABLE_ONEDNN_OPTS
# set by the user applies to every run instead.
ONEDNN_RUNS = ("stacked_mnist", "eval_stacked_mnist")


# -- Workers (each runs in its own process) ---------------------------------


def _set_precision(precision):
    import keras

    keras.mixed_precision.set_global_policy(precision)


def _build(config, seed=0):
    import keras
    import numpy as np

    import age_tf
    from age_tf.networks import mlp, stacked_mnist

    keras.utils.set_random_seed(seed)
    spec = CONFIGS[config]
    n = spec["batch_size"] * (spec["d_steps"] + 1)
    if config == "stacked_mnist":
        encoder = stacked_mnist.build_encoder(kind="gaussian", seed=1)
        generator = stacked_mnist.build_generator(kind="implicit", seed=2)
        discriminator = stacked_mnist.build_discriminator()
        x = np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 3)).astype("float32")
    else:
        kind = "gaussian" if config == "mog9" else "deterministic"
        encoder = mlp.build_encoder(kind=kind, seed=1)
        generator = mlp.build_generator(kind=kind, seed=2)
        discriminator = mlp.build_discriminator()
        points = age_tf.data.grid_mixture(9 if config == "mog9" else 25, imbalanced=True, seed=seed).points
        x = points[np.random.default_rng(seed).choice(len(points), n, replace=False)].astype("float32")
    model = age_tf.AGE(encoder, generator, discriminator, divergence="kl", d_steps=spec["d_steps"], seed=0)
    # As the entry points compile it (age_tf.models.compile_with_adam: age_tf.optimizers.Adam).
    age_tf.models.compile_with_adam(model, 1e-4, 5e-5, beta_1=0.0)
    return model, x


def train_worker(config, precision, jit, iterations, warmup):
    _set_precision(precision)
    import tensorflow as tf

    from age_tf import flops
    from age_tf.experiments import hardware

    # The threads the entry point that trains this config would use (its --num_threads=0).
    hardware.set_threads(0, small_ops=config.startswith("mog") and precision == "mixed_bfloat16")

    model, x = _build(config)
    x = tf.constant(x)
    step = tf.function(model.train_step, jit_compile=jit)
    times = []
    for i in range(warmup + iterations):
        start = time.perf_counter()
        logs = step(x)
        float(logs["g_loss"])  # wait for the step to finish
        if i >= warmup:
            times.append(time.perf_counter() - start)
    spec = CONFIGS[config]
    flop = flops.age_iteration_flops(
        model.encoder, model.generator, model.discriminator, spec["batch_size"], spec["d_steps"]
    )
    median = statistics.median(times)
    return {
        "kind": "train", "config": config, "precision": precision, "jit": jit,
        "iterations": iterations, "median_s": median, "min_s": min(times), "max_s": max(times),
        "examples_per_s": spec["batch_size"] * (spec["d_steps"] + 1) / median,
        "gflop": flop / 1e9, "gflops": flop / median / 1e9,
    }


def ceiling_worker(precision, size=2048, repeats=10):
    """Best matmul rate of size x size x size products in ``precision``'s compute dtype."""
    import tensorflow as tf

    dtype = tf.bfloat16 if precision == "mixed_bfloat16" else tf.float32
    a = tf.cast(tf.random.stateless_normal((size, size), seed=(1, 2)), dtype)
    b = tf.cast(tf.random.stateless_normal((size, size), seed=(3, 4)), dtype)
    product = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1, :1], tf.float32)))
    float(product(a, b))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        float(product(a, b))
        best = min(best, time.perf_counter() - start)
    return {"kind": "ceiling", "precision": precision, "size": size, "gflops": 2 * size**3 / best / 1e9}


def eval_mog_worker(repeats=5):
    import numpy as np

    import age_tf

    model, _ = _build("mog25")
    data = age_tf.data.grid_mixture(25, imbalanced=True, seed=0)
    heldout = data.points[np.random.default_rng(1).choice(len(data.points), 10_000, replace=False)]
    names = ["mode_coverage", "reconstruction_mse"]
    age_tf.metrics.compute(names, model, data, num_samples=10_000, heldout=heldout)  # traces
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        age_tf.metrics.compute(names, model, data, num_samples=10_000, heldout=heldout)
        times.append(time.perf_counter() - start)
    return {"kind": "eval", "config": "mog25 metrics, 10,000 samples", "median_s": statistics.median(times),
            "min_s": min(times), "max_s": max(times)}


def eval_stacked_mnist_worker(num_samples=26_000):
    """Untrained networks and classifier: the cost does not depend on the weights."""
    import numpy as np

    from age_tf.data import mnist
    from age_tf.metrics import stacked_mnist as sm
    from age_tf.networks import mnist_classifier

    model, _ = _build("stacked_mnist")
    classifier = mnist_classifier.with_features(mnist_classifier.build_classifier())
    if os.path.isdir(MNIST_DIR):
        images, modes = mnist.stack_digits(mnist.load_mnist(MNIST_DIR, "test"), num_samples, seed=1)
        images = mnist.to_unit_range(images)
    else:
        images = np.random.default_rng(0).uniform(-1, 1, (num_samples, 28, 28, 3)).astype("float32")
        modes = np.zeros(num_samples, np.int64)
    sm.evaluate(model, classifier, images[:256], modes[:256], num_samples=256)  # traces
    start = time.perf_counter()
    sm.evaluate(model, classifier, images, modes, num_samples=num_samples)
    elapsed = time.perf_counter() - start
    # A run's later evaluations: the evaluation images' features come from sm.RealFeatureCache.
    start = time.perf_counter()
    sm.evaluate(model, classifier, images, modes, num_samples=num_samples)
    again = time.perf_counter() - start
    return {"kind": "eval", "config": f"stacked_mnist metrics, {num_samples:,} samples",
            "median_s": elapsed, "min_s": elapsed, "max_s": elapsed, "again_s": again}


def run_worker(spec, iterations, warmup):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    kind, *args = spec.split(":")
    if kind == "train":
        config, precision, jit = args
        result = train_worker(config, precision, jit == "on", iterations, warmup)
    elif kind == "ceiling":
        result = ceiling_worker(args[0])
    elif kind == "eval_mog":
        result = eval_mog_worker()
    elif kind == "eval_stacked_mnist":
        result = eval_stacked_mnist_worker()
    else:
        raise ValueError(f"Unknown worker {spec!r}.")
    return {**result, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")}


# -- Driver -------------------------------------------------------------------


def machine():
    import tensorflow as tf

    from age_tf.experiments import hardware

    flags = hardware.cpu_flags()
    return {
        # The vector and matrix units that decide the kernels: "AMD EPYC" alone names several generations.
        "cpu": hardware.cpu_field("model name") or platform.processor() or "unknown CPU",
        "cpu_units": [u for u in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if u in flags],
        "cores": os.cpu_count(), "tensorflow": tf.__version__,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "per run (ONEDNN_RUNS)"),
        "python": platform.python_version(),
    }


def onednn_setting(spec):
    """TF_ENABLE_ONEDNN_OPTS for a run: the user's if set, else what its entry point uses."""
    if "TF_ENABLE_ONEDNN_OPTS" in os.environ:
        return os.environ["TF_ENABLE_ONEDNN_OPTS"]
    kind, *args = spec.split(":")
    name = args[0] if kind == "train" else kind  # the config trained, or the evaluation
    return "1" if name in ONEDNN_RUNS else "default"


def spawn(spec, iterations, warmup, onednn="default", authors_dir=None):
    command = [sys.executable, os.path.abspath(__file__), f"--worker={spec}",
               f"--iterations={iterations}", f"--warmup={warmup}"]
    if spec.startswith("authors:"):  # the peer: their PyTorch iteration (authors_step.py)
        command = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "authors_step.py"),
                   f"--authors_dir={authors_dir}", f"--config={spec.split(':')[1]}",
                   f"--iterations={iterations}", f"--warmup={warmup}"]
    env = dict(os.environ)
    if onednn != "default":
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        return {"kind": "error", "spec": spec, "error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(lines[-1])


def _label(result):
    """The config, with the round it ran in when a run has several (``--rounds``)."""
    return result["config"] + (f" (round {result['round']})" if result.get("rounds", 1) > 1 else "")


def table(results):
    ceilings = {(r["precision"], r["onednn"]): r["gflops"] for r in results if r["kind"] == "ceiling"}
    lines = [
        "| config | precision | jit | oneDNN | s/iter median | min | max | examples/s | GFLOP/iter | GFLOP/s "
        "| of ceiling |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["kind"] == "train":
            ceiling = ceilings.get((r["precision"], r["onednn"]), float("nan"))
            share = r["gflops"] / ceiling
            lines.append(
                f"| {_label(r)} | {r['precision']} | {'on' if r['jit'] else 'off'} | {r['onednn']} | "
                f"{r['median_s']:.3f} | "
                f"{r['min_s']:.3f} | {r['max_s']:.3f} | {r['examples_per_s']:.0f} | {r['gflop']:.1f} | "
                f"{r['gflops']:.0f} | {share:.0%} |"
            )
    lines.append("")
    lines.append("| ceiling: 2048^3 matmul | oneDNN | GFLOP/s |")
    lines.append("|---|---|---|")
    lines += [f"| {p} | {o} | {g:.0f} |" for (p, o), g in ceilings.items()]
    lines.append("")
    lines.append("| evaluation | oneDNN | s median | min | max | s again (features of the real images cached) |")
    lines.append("|---|---|---|---|---|---|")
    for r in results:
        if r["kind"] == "eval":
            again = f"{r['again_s']:.2f}" if "again_s" in r else "-"
            lines.append(f"| {r['config']} | {r['onednn']} | {r['median_s']:.2f} | {r['min_s']:.2f} | "
                         f"{r['max_s']:.2f} | {again} |")
    if any(r["kind"] == "authors" for r in results):
        lines += ["", peer_table(results)]
    for r in results:
        if r["kind"] == "error":
            lines.append(f"\nFAILED {r['spec']}: {r['error']}")
    return "\n".join(lines)


def peer_table(results):
    """Ours (XLA off) against the authors' float32 iteration of the same config, as ratios:
    their seconds over ours (above 1: ours is faster). With several rounds (``--rounds``) each
    round's ratio divides the two times of that round, and the table gives the rounds' median
    ratio with its range; the seconds are the rounds' medians."""
    def by_round(rows):
        return {r.get("round", 1): r["median_s"] for r in rows}

    peers = [r for r in results if r["kind"] == "authors"]
    torch_version = peers[0]["torch"]
    lines = ["| config | ours float32 s | ours mixed_bfloat16 s | authors' float32 s (torch "
             f"{torch_version}) | authors / ours float32 | authors / ours bf16 |",
             "|---|---|---|---|---|---|"]
    for config in dict.fromkeys(r["config"] for r in peers):
        theirs = by_round(r for r in peers if r["config"] == config)
        cells = []
        for precision in ("float32", "mixed_bfloat16"):
            ours = by_round(r for r in results if r["kind"] == "train" and not r["jit"]
                            and (r["config"], r["precision"]) == (config, precision))
            ratios = [theirs[k] / ours[k] for k in ours if k in theirs]
            if not ratios:
                cells.append(("-", "-"))
                continue
            ratio = f"**{statistics.median(ratios):.2f}x**"
            if len(ratios) > 1:
                ratio += f" ({min(ratios):.2f}-{max(ratios):.2f}, {len(ratios)} rounds)"
            cells.append((f"{statistics.median(ours.values()):.3f}", ratio))
        (fp32, fp32_ratio), (bf16, bf16_ratio) = cells
        lines.append(f"| {config} | {fp32} | {bf16} | {statistics.median(theirs.values()):.3f} | "
                     f"{fp32_ratio} | {bf16_ratio} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--jit", default="off,on", help="off, on or both (off,on)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no_eval", action="store_true", help="Skip the evaluation timings.")
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "speed.json"))
    parser.add_argument("--authors_dir", help="A checkout of github.com/xwshen51/AGE: time the authors' PyTorch "
                        "iteration of each config beside ours and print the ratios (needs torch installed).")
    parser.add_argument("--rounds", type=int, default=1,
                        help="Time each config's runs (and the authors' iteration) this many times, "
                        "alternating, and give the ratios' median over the rounds.")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.iterations, args.warmup)))
        return 0
    configs = args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs {unknown}; available: {', '.join(CONFIGS)}")
    precisions = args.precisions.split(",")
    if any(p not in PRECISIONS for p in precisions):
        parser.error(f"--precisions must be among {', '.join(PRECISIONS)}")
    if args.iterations < 1 or args.warmup < 1 or args.rounds < 1:
        parser.error("--iterations, --warmup and --rounds must be at least 1")
    jits = args.jit.split(",")
    if not jits or any(j not in ("off", "on") for j in jits):
        parser.error(f"--jit must be off, on or off,on; got {args.jit!r}")
    check_output(parser, args.output)  # before minutes of measurement, not after

    if args.authors_dir:
        import importlib.util

        if not os.path.isfile(os.path.join(args.authors_dir, "train.py")):
            parser.error(f"--authors_dir {args.authors_dir} has no train.py; give a checkout of "
                         "github.com/xwshen51/AGE")
        if importlib.util.find_spec("torch") is None:
            parser.error("--authors_dir needs PyTorch: pip install torch==2.13.0")

    runs = [(s, onednn_setting(s)) for s in
            [f"train:{c}:{p}:{j}" for c in configs for p in precisions for j in jits]]
    if args.authors_dir:  # each config's peer right after ours, so that both meet the same machine
        runs = [run for c in configs for run in
                [r for r in runs if r[0].split(":")[1] == c] + [(f"authors:{c}", "default")]]
    # Rounds alternate ours and theirs, so that a slow spell of the machine falls on both.
    runs = [(spec, onednn, k) for k in range(1, args.rounds + 1) for spec, onednn in runs]
    if not args.no_eval:
        runs += [(s, onednn_setting(s), 1) for s in ("eval_mog", "eval_stacked_mnist")]
    # One matmul ceiling per precision and oneDNN setting in use, measured first.
    settings = sorted({onednn for _, onednn, _ in runs})
    runs = [(f"ceiling:{p}", o, 1) for o in settings for p in precisions] + runs
    start = time.time()
    results = []
    for spec, onednn, k in runs:
        result = spawn(spec, args.iterations, args.warmup, onednn, args.authors_dir)
        results.append({**result, "round": k, "rounds": args.rounds} if spec.split(":")[0] in ("train", "authors")
                       else result)
        print(f"done {spec}, oneDNN {onednn}, round {k} ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    report = {
        "command": "python benchmarks/speed.py " + " ".join(sys.argv[1:]),
        # When the run started, UTC: the machines are shared, so a number is read with its date.
        "date": datetime.datetime.fromtimestamp(start, datetime.timezone.utc).isoformat(timespec="minutes"),
        "machine": machine(), "wall_s": round(time.time() - start, 1), "results": results,
    }
    print(table(results))  # first: a failed write below loses no measurement
    tmp = f"{args.output}.partial"
    try:
        with open(tmp, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.output)
    except OSError as error:
        print(f"\nThe JSON could not be written to {args.output} ({error.strerror or error}); the table above "
              "holds the numbers.", file=sys.stderr)
        return 4
    print(f"\nMachine: {report['machine']}; wall {report['wall_s']} s; JSON: {args.output}")
    return 0


def check_output(parser, output: str):
    """Exit 2 (``parser.error``) when the JSON report cannot be written to ``output``: a folder,
    a missing folder, or one that refuses a file (probed with a temporary file)."""
    import tempfile

    path = os.path.abspath(output)
    if os.path.isdir(path):
        parser.error(f"--output {path} is a folder; give a file name such as {os.path.join(path, 'speed.json')}")
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        parser.error(f"--output {path}: the folder {folder} does not exist; create it or choose another path")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".speed-probe-"):
            pass
    except OSError as error:
        parser.error(f"--output {path} cannot be written ({error.strerror or error}); choose another path")


if __name__ == "__main__":
    sys.exit(main())
