"""One config's training iteration under variants of the optimizer and the CPU threads.

    python benchmarks/step_variants.py mog25 mixed_bfloat16 --adam=keras --intra=2 --inter=2
    python benchmarks/step_variants.py mog25 mixed_bfloat16 --adam=fused --intra=1 --inter=2
    python benchmarks/step_variants.py mog25 mixed_bfloat16 --profile
    python benchmarks/step_variants.py stacked_mnist mixed_bfloat16 --layers=keras
    python benchmarks/step_variants.py mog25 mixed_bfloat16 --intra=1 --inter=2 --kernels
    python benchmarks/step_variants.py mog25 mixed_bfloat16 --intra=1 --inter=2 --remapping=off
    python benchmarks/step_variants.py mog25 mixed_bfloat16 --intra=1 --inter=2 --sampling=batched

Builds the config as ``speed.py`` does, with Keras' Adam or ``age_tf.optimizers.Adam`` (fused), with
Keras' batch norm and LeakyReLU or ``age_tf.networks.fused_layers``' (``--layers``), sets
TensorFlow's intra- and inter-op threads (0: TensorFlow's default), and prints the median seconds of
15 iterations after 3 warm-up. ``--profile`` then runs 10 more under the TensorFlow profiler and prints
the op types' summed times an iteration (where the time goes; ``benchmarks/README.md``).

``--kernels`` runs the same command again in a child process with ``ONEDNN_VERBOSE=1`` and prints
oneDNN's own record of the timed iterations: per primitive, implementation, post-ops and shape, its
milliseconds and calls an iteration (which products reach AMX, ``brg_matmul:...amx``, and which take
oneDNN's other kernels). ``--remapping=off`` turns off Grappler's remapper, which otherwise folds
each D layer's bias and LeakyReLU into its product (``_MklNativeFusedMatMul``). ``--sampling=batched``
times a variant step, not Algorithm 1's: the five D steps' encoder and generator samples are drawn in
one call of five times the batch before the D updates. Its batch norm then takes statistics over all
five minibatches, so it serves only to time the larger products.
"""

import argparse
import collections
import glob
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import speed  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", choices=sorted(speed.CONFIGS))
    parser.add_argument("precision", choices=speed.PRECISIONS)
    parser.add_argument("--adam", choices=("keras", "fused"), default="fused")
    parser.add_argument("--layers", choices=("keras", "fused"), default="fused")
    parser.add_argument("--intra", type=int, default=0)
    parser.add_argument("--inter", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--kernels", action="store_true", help="oneDNN's per-primitive times (module docstring)")
    parser.add_argument("--remapping", choices=("on", "off"), default="on")
    parser.add_argument("--sampling", choices=("per_step", "batched"), default="per_step")
    args = parser.parse_args()
    if args.kernels:
        return kernels([a for a in sys.argv[1:] if a not in ("--kernels", "--profile")])
    speed._set_precision(args.precision)
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    if args.remapping == "off":
        tf.config.optimizer.set_experimental_options({"remapping": False})
    if args.layers == "keras":  # the networks build their batch norm and LeakyReLU from these names
        from age_tf.networks import fused_layers

        fused_layers.BatchNormalization = keras.layers.BatchNormalization
        fused_layers.LeakyReLU = keras.layers.LeakyReLU
    model, x = speed._build(args.config)
    if args.adam == "keras":
        adam = lambda lr: keras.optimizers.Adam(lr, beta_1=0.0)  # noqa: E731
        model.compile(d_optimizer=adam(1e-4), e_optimizer=adam(5e-5), g_optimizer=adam(5e-5))
    x = tf.constant(x)
    step = tf.function(model.train_step if args.sampling == "per_step" else batched_sampling_step(model))
    for _ in range(3):
        float(step(x)["g_loss"])
    if os.environ.get("ONEDNN_VERBOSE"):  # --kernels reads oneDNN's records after this line
        print(TIMED_MARKER, flush=True)
    times = []
    for _ in range(TIMED_ITERATIONS):
        start = time.perf_counter()
        float(step(x)["g_loss"])
        times.append(time.perf_counter() - start)
    print(f"{args.config} {args.precision} adam={args.adam} layers={args.layers} intra={args.intra} inter={args.inter} "
          f"remapping={args.remapping} sampling={args.sampling}: median {sorted(times)[TIMED_ITERATIONS // 2]:.4f} s an iteration")
    if args.profile:
        profile(step, x)


TIMED_MARKER = "-- timed iterations --"
TIMED_ITERATIONS = 15


def batched_sampling_step(model):
    """A timing variant of ``model.train_step`` (module docstring): E's and G's samples for all D
    steps come from one call each, then ``AGE``'s own D updates and E/G step run on them."""
    import tensorflow as tf

    from age_tf.models import age

    def step(data):
        minibatches = model._minibatches(age.unpack_x(data))
        x_d = tf.concat(minibatches[:-1], axis=0)
        z_g = model.sample_prior(tf.shape(x_d)[0], dtype=x_d.dtype)
        z_e = model._encoder_sample(x_d, training=True)
        x_g = model.generator(z_g, training=True)
        split = lambda t: tf.split(t, model.d_steps)  # noqa: E731
        for x_i, z_e_i, x_g_i, z_g_i in zip(minibatches[:-1], split(z_e), split(x_g), split(z_g)):
            model._discriminator_update(x_i, z_e_i, x_g_i, z_g_i)
        model.encoder_generator_step(minibatches[-1])
        return model.step_logs()

    return step


def kernels(argv):
    """Reruns this script with ``argv`` under ``ONEDNN_VERBOSE=1`` and prints ``kernel_table``."""
    import subprocess

    env = dict(os.environ, ONEDNN_VERBOSE="1")
    run = subprocess.run([sys.executable, os.path.abspath(__file__), *argv], env=env, capture_output=True, text=True)
    if run.returncode:
        sys.stderr.write(run.stderr[-3000:])
        return run.returncode
    print(next(line for line in run.stdout.splitlines() if "median" in line))
    print(kernel_table(run.stdout.split(TIMED_MARKER, 1)[-1].splitlines(), TIMED_ITERATIONS))
    return 0


def kernel_table(lines, iterations, rows=20):
    """oneDNN's ``exec`` lines summed by primitive, implementation, post-ops and shape, as a Markdown
    table of milliseconds and calls an iteration, the longest first."""
    totals = collections.defaultdict(lambda: [0, 0.0])
    for line in lines:
        fields = line.strip().split(",")
        if len(fields) < 12 or fields[:4] != ["onednn_verbose", "v1", "primitive", "exec"]:
            continue
        post_ops = " ".join(a for a in fields[9].split() if a.startswith("attr-post-ops"))
        # "src:bf16::blocked:ba::f0 wei:..." -> "src ba, wei ab": a transposed operand is "ba".
        layouts = ", ".join(f"{d.split(':')[0]} {d.split(':')[4]}" for d in fields[8].split()
                            if d.count(":") >= 4 and d.split(":")[0] in ("src", "wei", "data"))
        kind = fields[5] if fields[7] in ("undef", "forward_inference") else f"{fields[5]} {fields[7]}"
        key = (kind, fields[6], layouts, post_ops.replace("attr-post-ops:", ""), fields[-2])
        totals[key][0] += 1
        totals[key][1] += float(fields[-1])
    out = ["| primitive | implementation | layouts | post-ops | shape | ms an iteration | calls an iteration | us a call |",
           "|---|---|---|---|---|---|---|---|"]
    ranked = sorted(totals.items(), key=lambda kv: -kv[1][1])
    for (kind, impl, layouts, post_ops, shape), (calls, ms) in ranked[:rows]:
        out.append(f"| {kind} | {impl} | {layouts} | {post_ops or '-'} | {shape} | {ms / iterations:.2f} | "
                   f"{calls / iterations:g} | {1000 * ms / calls:.0f} |")
    total = sum(ms for _, ms in totals.values())
    out.append(f"| all {len(totals)} kinds | | | | | {total / iterations:.2f} | "
               f"{sum(c for c, _ in totals.values()) / iterations:g} | |")
    return "\n".join(out)


def profile(step, x, iterations=10):
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    logdir = tempfile.mkdtemp(prefix="age_tf_profile_")
    tf.profiler.experimental.start(logdir)
    for _ in range(iterations):
        float(step(x)["g_loss"])
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    with open(sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1], "rb") as f:
        space.ParseFromString(f.read())
    seconds, calls = collections.Counter(), collections.Counter()
    for plane in (p for p in space.planes if p.name == "/host:CPU"):
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                if ":" in name:  # "op name:OpType"
                    op = name.rsplit(":", 1)[1]
                    seconds[op] += event.duration_ps / 1e12
                    calls[op] += 1
    for op, total in seconds.most_common(25):
        print(f"{op:40s} {total / iterations * 1000:8.2f} ms an iteration  {calls[op] // iterations:5d} calls")


if __name__ == "__main__":
    sys.exit(main())
