"""The 25-Gaussian step's matrix products, TensorFlow against PyTorch on the same CPU.

    python benchmarks/matmul_shapes.py [--repeats=10]

Times each product shape of the mog25 iteration (``speed.py``'s config: D on 1,000 pairs, E and G
on 500 points) in float32 and bfloat16, one product after another (a dependent chain, as the layers
of one network run), in a fresh process per setting:

- TensorFlow with one thread inside an op and with two (``intra 1`` and ``intra 2``, one op at a
  time). Equal times mean that TensorFlow ran the product on one thread whatever it was given: its
  oneDNN matmul does so when the operands fit in the L2 cache, which in bfloat16 holds every
  product of this step but ``dxz_dense0``'s (``benchmarks/README.md``, Where the time goes);
- PyTorch with two threads (``torch.set_num_threads(2)``), when it is installed, and TensorFlow's
  time (two threads) over PyTorch's.

Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time

# (name, m, k, n, transpose_a): the products of one mog25 iteration.
SHAPES = [
    ("D hidden 400x400, forward and input gradient", 1000, 400, 400, False),
    ("D dxz_dense0 800x400, forward", 1000, 800, 400, False),
    ("D weight gradient 400x400 (x^T dy)", 400, 1000, 400, True),
    ("E/G hidden 500x500, forward", 500, 500, 500, False),
]
PRECISIONS = ("float32", "bfloat16")


def _tensorflow(precision, intra, repeats, chain=20):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    dtype = tf.as_dtype(precision)
    times = {}
    for name, m, k, n, transpose_a in SHAPES:
        a = [tf.cast(tf.random.normal((k, m) if transpose_a else (m, k)), dtype) for _ in range(chain)]
        b = tf.cast(tf.random.normal((k, n)), dtype)

        @tf.function
        def run(a, b):
            outputs = []
            for x in a:
                y = tf.linalg.matmul(x, b, transpose_a=transpose_a)
                outputs.append(y)
                b = b + tf.reduce_sum(y[:1, :1]) * 0  # a chain: the next product waits for this one
            return outputs

        run(a, b)
        start = time.perf_counter()
        for _ in range(repeats):
            out = run(a, b)
        out[-1].numpy()
        times[name] = (time.perf_counter() - start) / (repeats * chain)
    return times


def _torch(precision, repeats, chain=20):
    import torch

    torch.set_num_threads(2)
    dtype = getattr(torch, precision)
    times = {}
    for name, m, k, n, transpose_a in SHAPES:
        a = [torch.randn((k, m) if transpose_a else (m, k)).to(dtype) for _ in range(chain)]
        b = torch.randn(k, n).to(dtype)
        for x in a:
            (x.t() if transpose_a else x) @ b
        start = time.perf_counter()
        for _ in range(repeats):
            for x in a:
                y = (x.t() if transpose_a else x) @ b
                b = b + y[:1, :1].sum() * 0
        times[name] = (time.perf_counter() - start) / (repeats * chain)
    return times


def _spawn(*args):
    """One worker's seconds by product name; None for PyTorch when it is not installed."""
    out = subprocess.run([sys.executable, __file__, "--worker", *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"The {args[0]} {args[1]} worker failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows) -> str:
    """Markdown: per precision, (TF intra 1, TF intra 2, torch or None) seconds by product name."""
    lines = ["| product (m x k x n) | precision | TF intra 1 ms | TF intra 2 ms | torch 2 threads ms | "
             "TF intra 2 / torch |", "|---|---|---|---|---|---|"]
    for precision, (one, two, torch_) in rows.items():
        for name, m, k, n, _ in SHAPES:
            peer = f"{torch_[name] * 1e3:.3f} | {two[name] / torch_[name]:.2f}x" if torch_ else "not installed | -"
            lines.append(f"| {name} ({m} x {k} x {n}; {2 * m * k * n / 1e9:.2f} GFLOP) | {precision} | "
                         f"{one[name] * 1e3:.3f} | {two[name] * 1e3:.3f} | {peer} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, precision, intra = args.worker[0], args.worker[1], int(args.worker[2])
        if kind == "torch" and importlib.util.find_spec("torch") is None:
            print("null")
            return 0
        times = _tensorflow(precision, intra, args.repeats) if kind == "tf" else _torch(precision, args.repeats)
        print(json.dumps(times))
        return 0
    rows = {}
    for precision in PRECISIONS:
        rows[precision] = (_spawn("tf", precision, 1), _spawn("tf", precision, 2), _spawn("torch", precision, 2))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
