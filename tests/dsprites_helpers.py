"""A 288-image dSprites factor grid: the renderer and protocol of data=dsprites at a size that renders at once.

`TinyDSprites` is also a Hydra `_target_` for the CLI tests (`data._target_=tests.dsprites_helpers.TinyDSprites`)."""

import numpy as np

from vae_lightning.data.dsprites import DSpritesDataModule
from vae_lightning.data.dsprites_render import FACTOR_NAMES
from vae_lightning.data.factors import FactorSpace

FULL_TURN = 2 * np.pi
# 3 × 2 × 4 × 4 × 3 = 288 images; three values of pos_y put the centre at three different sub-pixel phases.
TINY = FactorSpace(
    names=FACTOR_NAMES,
    sizes=(3, 2, 4, 4, 3),
    values=((1.0, 2.0, 3.0), (0.5, 1.0), tuple(np.linspace(0, FULL_TURN, 4).tolist()),
            tuple(np.linspace(0, 1, 4).tolist()), tuple(np.linspace(0, 1, 3).tolist())),
)


class TinyDSprites(DSpritesDataModule):
    factor_grid = TINY
