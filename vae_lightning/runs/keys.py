"""Settings that say where and how a run is carried out rather than what it trains, kept in one place.

`NOT_POINT_KEYS` never name a sweep point's folder nor appear as hyper-parameters in the report (paths, resuming,
threads); `RELOCATABLE_DATA_KEYS` are the data settings a continued run may change (where the files are and how they
are read or evaluated). The configs read the first through the `vae.not_point_keys` resolver.
"""

from omegaconf import OmegaConf

NOT_POINT_KEYS = ("ckpt_path", "resume", "redo", "threads", "data.root", "data.cache_dir")
RELOCATABLE_DATA_KEYS = ("root", "path", "cache_dir", "download", "num_workers", "eval_batch_size", "loader")

OmegaConf.register_new_resolver("vae.not_point_keys", lambda: list(NOT_POINT_KEYS), replace=True)
