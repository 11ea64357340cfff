"""purity_on_scenes: a model whose steps are the true masks is pure; one that emits the
union of all robots at every step covers several robots per step."""
import numpy as np
import torch

from robotpose_lib.eval.instances import purity_on_scenes
from robotpose_lib.synth import generate, params_for


class _Oracle(torch.nn.Module):
    """Returns each scene's true masks (or their union) as its steps, for the images it was built with."""

    def __init__(self, samples, union=False):
        super().__init__()
        self.samples, self.union = samples, union
        self.seen = 0

    def forward(self, images, steps):
        out = torch.zeros(images.shape[0], steps, *images.shape[-2:])
        for b in range(images.shape[0]):
            masks = torch.as_tensor(self.samples[self.seen + b].masks, dtype=torch.float32)
            masks = torch.nn.functional.interpolate(masks[None], size=images.shape[-2:], mode="nearest")[0]
            if self.union:
                masks = masks.amax(0, keepdim=True).expand(len(masks), -1, -1)
            out[b, :len(masks)] = masks
        self.seen += images.shape[0]
        return out


def test_true_masks_are_pure_and_their_union_is_not():
    params = params_for("panda_primitive", min_robots=1, max_robots=3, theta_vr=1.0)
    scenes = generate("panda_primitive", 3, range(8), 48, 64, params)
    data = [s for s in scenes if s.num_robots >= 2]
    assert 2 <= len(data) < len(scenes)  # scenes of one robot are left out
    pure = purity_on_scenes(_Oracle(data), scenes, (48, 64), batch_size=3)
    assert pure["single"] == 1.0 and pure["union"] == 0.0 and pure["scenes"] == len(data)
    assert np.isclose(pure["on_robot"], 1.0)
    mixed = purity_on_scenes(_Oracle(data, union=True), scenes, (48, 64), batch_size=3)
    assert mixed["union"] == 1.0 and mixed["single"] == 0.0
    none = purity_on_scenes(_Oracle(data), [], (48, 64))
    assert none["scenes"] == 0 and np.isnan(none["single"])
