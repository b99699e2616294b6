"""tf.data builders per dataset."""
from age_tf.data.mog import GridMixture, grid_centers, grid_mixture
from age_tf.data.pipeline import interleave_for_replicas, iteration_batches

__all__ = ["GridMixture", "grid_centers", "grid_mixture", "interleave_for_replicas", "iteration_batches"]
