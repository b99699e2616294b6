"""FID and KID of generated images with InceptionV3 features (Section 5.3, Table 6).

The feature network comes from a file the user gives (nothing is downloaded), one of two:

- the reference FID code's frozen graph, ``classify_image_graph_def.pb``
  (``reference_inception.ReferenceInception``): with that code's preprocessing, its FIDs
  are comparable with published ones such as Table 6's; reported as ``fid`` and ``kid``;
- ``keras.applications.InceptionV3(include_top=False, pooling="avg")`` with weights such as
  Keras' ``inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5``: 2048-d pool features
  of images resized to 299x299 (bilinear, no antialiasing). Its numbers rank models
  consistently but are not comparable digit for digit with published FIDs; reported as
  ``fid_keras`` and ``kid_keras``.

Images are streamed through the network in batches: at most one batch is held
at 299x299; the activations ([n, 2048] float32, 400 MB for 50k) are kept.
Statistics of the real data (mean, covariance and a subsample of activations
for KID) are cached in an .npz holding the SHA-256 of the weights file, the
example count, the image shape and an optional dataset id; a cache made with
other settings is refused, never silently reused. The maths lives in
``age_tf.metrics.frechet``.

Metrics ``fid`` and ``kid`` are registered; options (through
``metrics.compute(names, model, dataset, **options)``): ``inception_weights``
(required), ``inception_cache``, ``num_samples`` (50,000 generated images as
in Appendix E.1), ``reference_examples``, ``inception_batch_size``,
``dataset_id``, ``kid_subsets``, ``kid_subset_size``, ``seed``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
import weakref
import zipfile
from typing import Dict, Iterable, Optional

import h5py
import keras
import numpy as np
import tensorflow as tf

from age_tf import files
from age_tf.data.images import check_image_spec, check_images
from age_tf.metrics import frechet, manifold
from age_tf.metrics.reference_inception import GRAPH_HINT, ReferenceGraphError, ReferenceInception, is_reference_graph
from age_tf.metrics.registry import register_metric

INPUT_SIZE = 299
_CACHE_FORMAT = 1


class InceptionWeightsError(ValueError):
    """The InceptionV3 weights file is missing or does not fit the network."""


class StaleCacheError(ValueError):
    """A reference-statistics cache was computed with other settings."""


_WEIGHTS_HINT = (
    "Give the weights of keras.applications.InceptionV3(include_top=False), e.g. "
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 from "
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/ "
    "(or a .weights.h5 saved by model.save_weights)."
)


_sha_memo: Dict[tuple, str] = {}


def weights_sha256(weights_path: str) -> str:
    """SHA-256 of the weights file: the cache key that tells two networks apart.

    Remembered per (path, size, modification time): hashing 90 MB at every
    evaluation would cost more than a small FID.
    """
    _check_exists(weights_path)
    stat = os.stat(weights_path)
    memo_key = (os.path.abspath(weights_path), stat.st_size, stat.st_mtime_ns)
    if memo_key not in _sha_memo:
        digest = hashlib.sha256()
        with open(weights_path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _sha_memo[memo_key] = digest.hexdigest()
    return _sha_memo[memo_key]


def _check_exists(weights_path):
    if not weights_path or not os.path.isfile(weights_path):
        if is_reference_graph(weights_path or ""):
            raise InceptionWeightsError(f"Reference FID graph {weights_path!r} does not exist. {GRAPH_HINT}")
        raise InceptionWeightsError(f"InceptionV3 weights file {weights_path!r} does not exist. {_WEIGHTS_HINT}")


def build_inception() -> keras.Model:
    """InceptionV3 without its classifier: [b, 299, 299, 3] in [-1, 1] -> [b, 2048]."""
    return keras.applications.InceptionV3(
        include_top=False, pooling="avg", weights=None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3)
    )


def load_inception(weights_path: str) -> keras.Model:
    """The feature network with every weight read from ``weights_path``.

    Raises ``InceptionWeightsError`` naming the file if it is missing, is not
    a weights file, or belongs to another architecture. All variables are set
    to NaN first, so one the file leaves untouched is caught too.
    """
    _check_exists(weights_path)
    if weights_path.endswith((".h5", ".hdf5")) and not h5py.is_hdf5(weights_path):
        raise InceptionWeightsError(
            f"Cannot load InceptionV3 weights from {weights_path}: not an HDF5 file (corrupt or "
            f"truncated?). {_WEIGHTS_HINT}"
        )
    network = build_inception()
    for variable in network.weights:
        variable.assign(np.full(variable.shape, np.nan, variable.dtype))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns per skipped layer before raising
            network.load_weights(weights_path)
    except Exception as error:  # noqa: BLE001 - h5py, Keras and OS errors alike
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InceptionWeightsError(
            f"Cannot load InceptionV3 weights from {weights_path}: {first_line}. {_WEIGHTS_HINT}"
        ) from error
    missing = [v.path for v in network.weights if np.isnan(v.numpy()).any()]
    if missing:
        raise InceptionWeightsError(
            f"{weights_path} left {len(missing)} of {len(network.weights)} InceptionV3 variables unset "
            f"(first: {missing[0]}). {_WEIGHTS_HINT}"
        )
    return network


def load_feature_network(path: str):
    """The feature network in ``path``: the reference FID graph for a ``.pb`` file
    (``ReferenceInception``: FIDs comparable with published ones), else Keras' InceptionV3
    with the weights in the file (``load_inception``: FIDs that rank models but are not
    comparable). Raises ``InceptionWeightsError`` naming the file when it does not load."""
    if is_reference_graph(path):
        try:
            return ReferenceInception(path)
        except ReferenceGraphError as error:
            raise InceptionWeightsError(str(error)) from error
    return load_inception(path)


def comparable(path: str) -> bool:
    """Whether FIDs from the network in ``path`` can be compared with published ones."""
    return is_reference_graph(path)


def image_batches(images, batch_size: int, num_examples: Optional[int]) -> Iterable[np.ndarray]:
    """Batches of at most ``batch_size`` images from an array, a dataset or an iterable."""
    if isinstance(images, tf.data.Dataset):
        if check_image_spec(images, "images fed to InceptionV3").shape.rank == 4:
            images = images.unbatch()
        if num_examples is not None:
            images = images.take(num_examples)
        source = (b.numpy() for b in images.batch(batch_size))
    elif isinstance(images, np.ndarray):
        if num_examples is not None:
            images = images[:num_examples]
        source = (images[i : i + batch_size] for i in range(0, len(images), batch_size))
    else:  # an iterable of batches, e.g. generated on the fly
        source = images
    seen = 0
    for batch in source:
        batch = np.asarray(batch)
        if num_examples is not None:
            batch = batch[: num_examples - seen]
        for start in range(0, len(batch), batch_size):
            yield batch[start : start + batch_size]
        seen += len(batch)
        if num_examples is not None and seen >= num_examples:
            return


_features_fns = weakref.WeakKeyDictionary()


def _features_fn(network):
    """One traced resize-and-embed function per network (tracing InceptionV3 takes seconds);
    the reference FID graph resizes itself and is already a traced function."""
    if isinstance(network, ReferenceInception):
        return network
    if network not in _features_fns:
        network_ref = weakref.ref(network)  # a strong reference would keep the entry alive forever

        @tf.function(reduce_retracing=True)
        def features(batch):
            resized = tf.image.resize(batch, (INPUT_SIZE, INPUT_SIZE), method="bilinear")
            return network_ref()(resized, training=False)

        _features_fns[network] = features
    return _features_fns[network]


def activations(images, network: keras.Model, batch_size: int = 50, num_examples: Optional[int] = None) -> np.ndarray:
    """[n, 2048] float32 pool features of images in [-1, 1], streamed in batches.

    ``images``: an array [n, H, W, 3], a tf.data.Dataset of images or of
    batches, or an iterable of batches. Each batch is checked, resized to
    299x299 (bilinear) and fed to ``network``; only one batch is ever held at
    299x299. Keras' InceptionV3 takes inputs in [-1, 1], as the images are. A
    ``ReferenceInception`` (the reference FID graph) gets the images as they are and
    preprocesses and resizes them as the reference code does.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    features = _features_fn(network)
    outputs = []
    for batch in image_batches(images, batch_size, num_examples):
        batch = check_images(batch, "images fed to InceptionV3")
        outputs.append(features(tf.constant(batch)).numpy().astype(np.float32))
    if not outputs:
        raise ValueError("No images to compute InceptionV3 activations of.")
    return np.concatenate(outputs)


@dataclasses.dataclass(frozen=True)
class ReferenceStatistics:
    """Inception statistics of real images and the settings they were computed with."""

    mu: np.ndarray  # [2048] float64
    sigma: np.ndarray  # [2048, 2048] float64
    kid_activations: np.ndarray  # [m, 2048] float32 subsample for KID
    num_examples: int  # examples asked for (the key)
    examples_used: int  # examples the dataset actually held, <= num_examples
    weights_sha256: str
    image_shape: tuple
    dataset_id: str = ""

    @classmethod
    def from_activations(cls, acts, kid_examples: int = 2000, seed: int = 0, **key):
        mu, sigma = frechet.statistics(acts)
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(acts), min(kid_examples, len(acts)), replace=False))
        return cls(mu=mu, sigma=sigma, kid_activations=np.asarray(acts, np.float32)[keep],
                   examples_used=len(acts), **key)

    def key(self) -> dict:
        return dict(weights_sha256=self.weights_sha256, num_examples=self.num_examples,
                    image_shape=tuple(self.image_shape), dataset_id=self.dataset_id)

    def save(self, path: str) -> None:
        """Writes the .npz whole (``files``): an interrupted run leaves no half file."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        files.write(path, lambda f: np.savez(
            f, format=_CACHE_FORMAT, mu=self.mu, sigma=self.sigma, kid_activations=self.kid_activations,
            num_examples=self.num_examples, examples_used=self.examples_used,
            weights_sha256=self.weights_sha256, image_shape=np.asarray(self.image_shape),
            dataset_id=self.dataset_id,
        ), ".npz", binary=True)

    @classmethod
    def load(cls, path: str) -> "ReferenceStatistics":
        with np.load(path) as data:
            if int(data["format"]) != _CACHE_FORMAT:
                raise StaleCacheError(f"{path} has cache format {int(data['format'])}, expected {_CACHE_FORMAT}.")
            return cls(
                mu=data["mu"], sigma=data["sigma"], kid_activations=data["kid_activations"],
                num_examples=int(data["num_examples"]), examples_used=int(data["examples_used"]),
                weights_sha256=str(data["weights_sha256"]), image_shape=tuple(int(d) for d in data["image_shape"]),
                dataset_id=str(data["dataset_id"]),
            )


def _image_shape(dataset) -> tuple:
    """[H, W, 3] of the real images (-1 where a dataset leaves it unknown)."""
    if isinstance(dataset, tf.data.Dataset):
        shape = check_image_spec(dataset, "the real images").shape[-3:]
    else:
        shape = np.shape(dataset)[-3:]
    return tuple(-1 if d is None else int(d) for d in shape)


def reference_statistics(
    dataset,
    weights_path: str,
    cache_path: Optional[str] = None,
    num_examples: int = 50_000,
    batch_size: int = 50,
    dataset_id: str = "",
    kid_examples: int = 2000,
    network: Optional[keras.Model] = None,
    seed: int = 0,
) -> ReferenceStatistics:
    """Inception statistics of the first ``num_examples`` real images, cached.

    With ``cache_path`` the statistics are read from it when it exists and its
    key (weights SHA-256, ``num_examples``, image shape, ``dataset_id``)
    matches; a mismatch raises ``StaleCacheError`` naming the differences.
    Otherwise they are computed (loading the network from ``weights_path``
    unless ``network``, loaded from that same file, is given) and written
    there; without ``cache_path`` every call recomputes them. ``dataset``
    should list its examples in a fixed order, and
    ``dataset_id`` (e.g. "celeb_a/train") tells two datasets of the same size
    and shape apart.
    """
    return _reference_statistics(
        dataset, weights_sha256(weights_path), cache_path, num_examples, batch_size,
        dataset_id, kid_examples, lambda: network or load_inception(weights_path), seed,
    )


def _reference_statistics(dataset, sha, cache_path, num_examples, batch_size, dataset_id,
                          kid_examples, get_network, seed) -> ReferenceStatistics:
    key = dict(weights_sha256=sha, num_examples=int(num_examples),
               image_shape=_image_shape(dataset), dataset_id=str(dataset_id))
    if cache_path and os.path.exists(cache_path):
        cached = _load_cache(cache_path)
        differences = [
            f"{name} {cached.key()[name]!r} (cache) vs {value!r} (now)"
            for name, value in key.items()
            if cached.key()[name] != value
        ]
        if differences:
            raise StaleCacheError(
                f"Statistics cache {cache_path} was computed with other settings: {'; '.join(differences)}. "
                "Delete it or give another cache path."
            )
        return cached
    acts = activations(dataset, get_network(), batch_size=batch_size, num_examples=num_examples)
    stats = ReferenceStatistics.from_activations(acts, kid_examples=kid_examples, seed=seed, **key)
    if cache_path:
        stats.save(cache_path)
    return stats


def _load_cache(cache_path) -> ReferenceStatistics:
    try:
        return ReferenceStatistics.load(cache_path)
    except StaleCacheError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise StaleCacheError(
            f"Cannot read the statistics cache {cache_path}: {error}. Delete it to recompute."
        ) from error


def fid_from_activations(reference: ReferenceStatistics, acts) -> float:
    """Frechet distance between the reference Gaussian and that of ``acts``."""
    return frechet.frechet_distance(reference.mu, reference.sigma, *frechet.statistics(acts))


def kid_from_activations(reference: ReferenceStatistics, acts, num_subsets: int = 100,
                         subset_size: int = 1000, seed: int = 0) -> float:
    """KID between the reference subsample and ``acts``."""
    return frechet.kernel_distance_from_activations(
        reference.kid_activations, acts, num_subsets=num_subsets, subset_size=subset_size, seed=seed
    )


def kid_subsets_from_activations(reference: ReferenceStatistics, acts, num_subsets: int = 100,
                                 subset_size: int = 1000, seed: int = 0) -> np.ndarray:
    """The KID of each subset (``frechet.kernel_distance_subsets``): KID is their mean, reported
    with their standard deviation."""
    return frechet.kernel_distance_subsets(reference.kid_activations, acts, num_subsets, subset_size, seed)


def fid(images, reference: ReferenceStatistics, network: keras.Model, batch_size: int = 50,
        num_examples: Optional[int] = None) -> float:
    """FID of ``images`` (in [-1, 1]) against the reference statistics."""
    return fid_from_activations(reference, activations(images, network, batch_size, num_examples))


def kid(images, reference: ReferenceStatistics, network: keras.Model, batch_size: int = 50,
        num_examples: Optional[int] = None, num_subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> float:
    """KID of ``images`` (in [-1, 1]) against the reference subsample."""
    acts = activations(images, network, batch_size, num_examples)
    return kid_from_activations(reference, acts, num_subsets, subset_size, seed)


def generated_batches(model, num_samples: int, batch_size: int = 50, seed: int = 0):
    """Batches of ``model.generate(z=...)`` for fixed z ~ N(0, I) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    for start in range(0, num_samples, batch_size):
        z = rng.standard_normal((min(batch_size, num_samples - start), model.latent_dim)).astype(np.float32)
        yield np.asarray(model.generate(z=z), dtype=np.float32)


# -- Registered metrics --------------------------------------------------------

_networks: Dict[str, keras.Model] = {}
_last_generated: Dict[str, object] = {}
GENERATED_KID_EXAMPLES = 10_000


def _network_for(weights_path: str, sha: str):
    if sha not in _networks:
        _networks.clear()  # one InceptionV3 (90 MB) at a time
        _networks[sha] = load_feature_network(weights_path)
    return _networks[sha]


def _generator_fingerprint(model) -> str:
    digest = hashlib.sha256()
    for variable in model.generator.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(variable)).tobytes())
    return digest.hexdigest()


def _evaluate(model, dataset, inception_weights, inception_cache, num_samples, reference_examples,
              inception_batch_size, dataset_id, seed):
    """Reference statistics, and statistics of generated samples, shared by fid and kid.

    Asking for both metrics generates and embeds the samples once: the
    generated statistics are kept while the generator's weights, the seed,
    the sample count and the feature network are unchanged. Only their mean,
    covariance and up to 10,000 activations (for KID) are kept.
    """
    if not inception_weights:
        raise InceptionWeightsError(
            "Metrics fid and kid need inception_weights=<path to InceptionV3 weights, or to the reference FID "
            "graph (.pb)>. " + _WEIGHTS_HINT
        )
    sha = weights_sha256(inception_weights)
    reference = _reference_statistics(
        dataset, sha, inception_cache, reference_examples or num_samples,
        inception_batch_size, dataset_id, 2000, lambda: _network_for(inception_weights, sha), seed,
    )
    key = (sha, id(model), _generator_fingerprint(model), int(num_samples), int(seed))
    if _last_generated.get("key") != key:
        acts = activations(generated_batches(model, num_samples, inception_batch_size, seed),
                           _network_for(inception_weights, sha), batch_size=inception_batch_size)
        summary = ReferenceStatistics.from_activations(
            acts, kid_examples=GENERATED_KID_EXAMPLES, seed=seed + 1, weights_sha256=sha,
            num_examples=int(num_samples), image_shape=(), dataset_id="generated",
        )
        _last_generated.clear()
        _last_generated.update(key=key, summary=summary)
    return reference, _last_generated["summary"]


KERAS_SUFFIX = "_keras"  # fid_keras, kid_keras: Keras' InceptionV3, not comparable with published numbers


def _named(key: str, inception_weights: str) -> str:
    """``key`` for the reference FID graph, ``key_keras`` for Keras' InceptionV3."""
    return key if comparable(inception_weights) else key + KERAS_SUFFIX


@register_metric("fid", meanings={
    "fid": "Frechet Inception distance to the real images, on the reference FID graph (comparable with papers)",
    "fid_keras": "Frechet distance on Keras' InceptionV3 features: ranks models, not comparable with published FIDs",
})
def fid_metric(model, dataset, inception_weights=None, inception_cache=None, num_samples=50_000,
               reference_examples=None, inception_batch_size=50, dataset_id="", seed=0) -> Dict[str, float]:
    """FID between ``num_samples`` generated images and the real ``dataset`` (Table 6), reported
    as ``fid`` when ``inception_weights`` is the reference FID graph (a ``.pb``), as ``fid_keras``
    when it holds Keras' InceptionV3 weights."""
    reference, generated = _evaluate(model, dataset, inception_weights, inception_cache, num_samples,
                                     reference_examples, inception_batch_size, dataset_id, seed)
    value = frechet.frechet_distance(reference.mu, reference.sigma, generated.mu, generated.sigma)
    return {_named("fid", inception_weights): value}


@register_metric("kid", meanings={
    "kid": "kernel Inception distance to the real images (reference FID graph), the mean over subsets",
    "kid_std": "standard deviation of the kernel Inception distance over its subsets",
    "kid_keras": "kernel distance on Keras' InceptionV3 features, the mean over subsets (not comparable)",
    "kid_keras_std": "standard deviation of kid_keras over its subsets",
})
def kid_metric(model, dataset, inception_weights=None, inception_cache=None, num_samples=50_000,
               reference_examples=None, inception_batch_size=50, dataset_id="", seed=0,
               kid_subsets=100, kid_subset_size=1000) -> Dict[str, float]:
    """KID between generated images and the real ``dataset`` (Binkowski et al., 2018): the mean
    and the standard deviation (numpy's, ddof 0) over ``kid_subsets`` subsets; named ``kid_keras``
    on Keras' InceptionV3 (as ``fid_metric``)."""
    reference, generated = _evaluate(model, dataset, inception_weights, inception_cache, num_samples,
                                     reference_examples, inception_batch_size, dataset_id, seed)
    values = kid_subsets_from_activations(reference, generated.kid_activations, kid_subsets, kid_subset_size, seed)
    return {_named("kid", inception_weights): float(np.mean(values)),
            _named("kid", inception_weights) + "_std": float(np.std(values))}


@register_metric("inception_prdc", meanings={
    name: f"{meaning}, on Inception features" for name, meaning in manifold.MEANINGS.items()})
def inception_prdc_metric(model, dataset, inception_weights=None, inception_cache=None, num_samples=50_000,
                          reference_examples=None, inception_batch_size=50, dataset_id="", seed=0,
                          precision_recall_k=manifold.PRECISION_RECALL_K,
                          density_coverage_k=manifold.DENSITY_COVERAGE_K) -> Dict[str, float]:
    """Precision/recall and density/coverage (``age_tf.metrics.manifold``) on Inception pool
    features: the real activations the statistics cache keeps (2,000, drawn with ``seed``) against
    as many of the generated ones. Naeem et al. used 10,000 of each; fewer points give larger
    balls, so compare these numbers only at equal counts."""
    reference, generated = _evaluate(model, dataset, inception_weights, inception_cache, num_samples,
                                     reference_examples, inception_batch_size, dataset_id, seed)
    real = reference.kid_activations
    return manifold.scores_or_nan(real, generated.kid_activations[:len(real)], precision_recall_k,
                                  density_coverage_k)
