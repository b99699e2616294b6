"""One config's training iteration under variants of the optimizer and the CPU threads.

    python benchmarks/step_variants.py mog25 mixed_bfloat16 --adam=keras --intra=2 --inter=2
    python benchmarks/step_variants.py mog25 mixed_bfloat16 --adam=fused --intra=1 --inter=2
    python benchmarks/step_variants.py mog25 mixed_bfloat16 --profile
    python benchmarks/step_variants.py stacked_mnist mixed_bfloat16 --layers=keras

Builds the config as ``speed.py`` does, with Keras' Adam or ``age_tf.optimizers.Adam`` (fused), with
Keras' batch norm and LeakyReLU or ``age_tf.networks.fused_layers``' (``--layers``), sets
TensorFlow's intra- and inter-op threads (0: TensorFlow's default), and prints the median seconds of
15 iterations after 3 warm-up. ``--profile`` then runs 10 more under the TensorFlow profiler and prints
the op types' summed times an iteration (where the time goes; ``benchmarks/README.md``).
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
    args = parser.parse_args()
    speed._set_precision(args.precision)
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    if args.layers == "keras":  # the networks build their batch norm and LeakyReLU from these names
        from age_tf.networks import fused_layers

        fused_layers.BatchNormalization = keras.layers.BatchNormalization
        fused_layers.LeakyReLU = keras.layers.LeakyReLU
    model, x = speed._build(args.config)
    if args.adam == "keras":
        adam = lambda lr: keras.optimizers.Adam(lr, beta_1=0.0)  # noqa: E731
        model.compile(d_optimizer=adam(1e-4), e_optimizer=adam(5e-5), g_optimizer=adam(5e-5))
    x = tf.constant(x)
    step = tf.function(model.train_step)
    for _ in range(3):
        float(step(x)["g_loss"])
    times = []
    for _ in range(15):
        start = time.perf_counter()
        float(step(x)["g_loss"])
        times.append(time.perf_counter() - start)
    print(f"{args.config} {args.precision} adam={args.adam} layers={args.layers} intra={args.intra} inter={args.inter}: "
          f"median {sorted(times)[7]:.4f} s an iteration")
    if args.profile:
        profile(step, x)


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
