"""Image views of a trained model as PNG grids (Figures 2-5 and 13-15).

- ``sample_grid``: generations G(z), z ~ N(0, I) (Figure 2).
- ``reconstruction_grid``: real and reconstructed images in alternating
  columns, odd columns real (Figures 3, 4, 13, 14).
- ``interpolation_grid``: each row starts and ends with a real validation
  image; in between, decodings of latents interpolated linearly between their
  encoder means (Figures 5a and 15).
- ``nearest_neighbours_grid``: each row starts with a query, framed in red,
  followed by its k nearest validation images in latent space (Euclidean
  distance between encoder means, Figure 5b).

Images are numpy arrays [n, H, W, 3] in [-1, 1]. Tiles are written pixel for
pixel (no resampling) with ``padding`` pixels of white between and around
them, so a grid of r rows and c columns of HxW images is
(r * H + (r + 1) * padding) x (c * W + (c + 1) * padding) pixels.
"""

from __future__ import annotations

import os
from typing import Dict, Optional

import numpy as np
from PIL import Image

from age_tf import files
from age_tf.data.images import check_images

BACKGROUND = (255, 255, 255)
QUERY_FRAME = (220, 0, 0)


def to_uint8(images) -> np.ndarray:
    """[-1, 1] floats to uint8 pixels, rounding to the nearest level; NaN (a diverged
    generator's output) is drawn black."""
    levels = np.round((np.asarray(images, np.float32) + 1.0) * 127.5)
    return np.clip(np.nan_to_num(levels, nan=0.0), 0, 255).astype(np.uint8)


def grid_size(rows: int, columns: int, height: int, width: int, padding: int = 2) -> tuple:
    """(height, width) in pixels of a grid of rows x columns tiles."""
    return rows * height + (rows + 1) * padding, columns * width + (columns + 1) * padding


def tile(images, columns: int, padding: int = 2, frames: Optional[Dict[int, tuple]] = None) -> np.ndarray:
    """uint8 [grid_height, grid_width, 3] with the images row by row.

    ``frames`` maps a tile index to an RGB colour painted in the padding
    around that tile (the red rectangle of Figure 5b).
    """
    images = to_uint8(check_images(images))
    if columns <= 0:
        raise ValueError(f"columns must be positive, got {columns}.")
    n, h, w, _ = images.shape
    rows = max(1, -(-n // columns))
    canvas = np.empty((*grid_size(rows, columns, h, w, padding), 3), np.uint8)
    canvas[...] = BACKGROUND
    for index in range(n):
        top = padding + (index // columns) * (h + padding)
        left = padding + (index % columns) * (w + padding)
        if frames and index in frames:
            canvas[top - padding : top + h + padding, left - padding : left + w + padding] = frames[index]
        canvas[top : top + h, left : left + w] = images[index]
    return canvas


def _write(path, canvas) -> str:
    """Saves the PNG at ``path`` (its folder made if needed), written whole (``files.written_whole``): a kill
    or a full disk leaves the old grid or none, never a truncated one."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with files.written_whole(str(path), ".png") as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")
    return path


def sample_grid(path, images, columns: int = 8, padding: int = 2) -> str:
    """Generated images in a grid of ``columns`` columns (Figure 2)."""
    return _write(path, tile(images, columns, padding))


def reconstruction_grid(path, real, reconstructed, columns: int = 8, padding: int = 2) -> str:
    """Odd columns real, even columns their reconstructions G(E(x)) (Figures 13, 14).

    ``columns`` counts images, so a row holds columns / 2 pairs.
    """
    real, reconstructed = check_images(real, "real"), check_images(reconstructed, "reconstructed")
    if real.shape != reconstructed.shape:
        raise ValueError(f"real {real.shape} and reconstructed {reconstructed.shape} differ in shape.")
    if columns % 2:
        raise ValueError(f"columns must be even (real, reconstruction pairs), got {columns}.")
    pairs = np.stack([real, reconstructed], axis=1).reshape(-1, *real.shape[1:])
    return _write(path, tile(pairs, columns, padding))


def encode_means(model, images, batch_size: int = 256) -> np.ndarray:
    """Encoder means E(x) of images in [-1, 1], in batches, as float32 numpy."""
    images = check_images(images)
    parts = [np.asarray(model.encode(images[i : i + batch_size], mean=True), np.float32)
             for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).reshape(len(images), -1)


def _decode(model, z, batch_size: int = 256) -> np.ndarray:
    parts = [np.asarray(model.generate(z=z[i : i + batch_size]), np.float32) for i in range(0, len(z), batch_size)]
    return np.concatenate(parts)


def _reconstruct(model, x, batch_size: int = 256) -> np.ndarray:
    parts = [np.asarray(model.reconstruct(x[i : i + batch_size]), np.float32) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def interpolations(model, x_a, x_b, steps: int = 8) -> np.ndarray:
    """[n, steps, H, W, 3]: G((1 - t) E(x_a) + t E(x_b)) for t = 0, 1/(steps-1), ..., 1.

    The first and last images are the decodings of the two encoder means.
    """
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (both ends), got {steps}.")
    x_a, x_b = check_images(x_a, "x_a"), check_images(x_b, "x_b")
    if x_a.shape != x_b.shape:
        raise ValueError(f"x_a {x_a.shape} and x_b {x_b.shape} must pair up one to one.")
    z_a, z_b = encode_means(model, x_a), encode_means(model, x_b)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    z = (1.0 - t) * z_a[:, None, :] + t * z_b[:, None, :]  # exact ends: t is 0 and 1
    decoded = _decode(model, z.reshape(-1, z.shape[-1]))
    return decoded.reshape(len(x_a), steps, *decoded.shape[1:])


def interpolation_grid(path, model, x_a, x_b, steps: int = 8, padding: int = 2) -> str:
    """Rows: x_a, ``steps`` decoded interpolations, x_b (Figures 5a and 15)."""
    middle = interpolations(model, x_a, x_b, steps)
    rows = np.concatenate([np.asarray(x_a, np.float32)[:, None], middle, np.asarray(x_b, np.float32)[:, None]], 1)
    return _write(path, tile(rows.reshape(-1, *rows.shape[2:]), steps + 2, padding))


def nearest_neighbours(model, queries, pool, k: int = 4):
    """Indices [q, k] into ``pool`` and distances [q, k] of each query's k nearest encoder means.

    A query that is itself in the pool finds itself first, at distance 0.
    """
    pool = check_images(pool, "pool")
    if not 1 <= k <= len(pool):
        raise ValueError(f"k must be in [1, {len(pool)}] (the pool size), got {k}.")
    z_q = encode_means(model, queries).astype(np.float64)
    z_p = encode_means(model, pool).astype(np.float64)
    distances = np.sqrt(np.maximum(((z_q[:, None, :] - z_p[None, :, :]) ** 2).sum(-1), 0.0))
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(distances, order, axis=1)


def nearest_neighbours_grid(path, model, queries, pool, k: int = 4, padding: int = 2) -> str:
    """Rows: the query (red frame) then its k nearest pool images in latent space (Figure 5b)."""
    queries, pool = check_images(queries, "queries"), check_images(pool, "pool")
    index, _ = nearest_neighbours(model, queries, pool, k)
    rows = np.concatenate([queries[:, None], pool[index]], axis=1)
    frames = {row * (k + 1): QUERY_FRAME for row in range(len(queries))}
    return _write(path, tile(rows.reshape(-1, *rows.shape[2:]), k + 1, max(padding, 1), frames))


VIEWS = ("samples", "reconstructions", "interpolations", "neighbours")


def write_all_views(
    model,
    validation_images,
    output_dir: str,
    tag: str = "final",
    z=None,
    num_samples: int = 64,
    seed: int = 0,
    columns: int = 8,
    num_reconstructions: int = 32,
    interpolation_pairs: int = 8,
    interpolation_steps: int = 8,
    num_queries: int = 8,
    k: int = 4,
) -> Dict[str, str]:
    """Writes ``output_dir/views/{tag}_{samples,reconstructions,interpolations,neighbours}.png``.

    ``validation_images`` [n, H, W, 3] in [-1, 1]: the first
    ``num_reconstructions`` are reconstructed; images i and
    ``interpolation_pairs + i`` are interpolated; the first ``num_queries`` are
    queries searched among all the others. Samples use ``z`` if given, else
    ``num_samples`` draws of N(0, I) from ``seed``; the same arguments give the
    same views of the same model. A model without an encoder (AGE-UGM,
    ``model.unidirectional``) gets the samples only. Returns {view: path}.
    """
    if z is None:
        z = np.random.default_rng(seed).standard_normal((num_samples, model.latent_dim)).astype(np.float32)
    directory = os.path.join(output_dir, "views")
    path = lambda view: os.path.join(directory, f"{tag}_{view}.png")  # noqa: E731
    written = {"samples": sample_grid(path("samples"), _decode(model, np.asarray(z, np.float32)), columns)}
    if getattr(model, "unidirectional", False):
        return written  # AGE-UGM (Appendix B) has no encoder: samples only
    images = check_images(validation_images, "validation_images")
    needed = max(2 * interpolation_pairs, num_queries + k)
    if len(images) < needed:
        raise ValueError(
            f"validation_images holds {len(images)} images; these views need at least {needed} "
            f"({interpolation_pairs} interpolation pairs, {num_queries} queries plus {k} neighbours)."
        )
    real = images[:num_reconstructions]
    p = interpolation_pairs
    written["reconstructions"] = reconstruction_grid(path("reconstructions"), real, _reconstruct(model, real), columns)
    written["interpolations"] = interpolation_grid(
        path("interpolations"), model, images[:p], images[p : 2 * p], interpolation_steps
    )
    written["neighbours"] = nearest_neighbours_grid(
        path("neighbours"), model, images[:num_queries], images[num_queries:], k
    )
    return written
