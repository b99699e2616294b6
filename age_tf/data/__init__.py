"""tf.data builders per dataset."""
from age_tf.data import images
from age_tf.data.images import celeba, imagenet, training_batches
from age_tf.data.mog import GridMixture, grid_centers, grid_mixture
from age_tf.data.pipeline import interleave_for_replicas, iteration_batches

__all__ = [
    "GridMixture", "celeba", "grid_centers", "grid_mixture", "imagenet", "images",
    "interleave_for_replicas", "iteration_batches", "training_batches",
]
