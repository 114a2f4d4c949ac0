"""Your own configs first: `./conf/<group>/<name>.yaml` in the working directory is searched before vae_lightning's
packaged configs, so `experiment=my_study` finds `conf/experiment/my_study.yaml` and a file of the same name as a
packaged one replaces it. Hydra discovers this plugin by its `hydra_plugins` namespace package; it acts only on
vae_lightning's own entry points."""

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.plugins.search_path_plugin import SearchPathPlugin

PROJECT_CONF = "conf"


class WorkingDirectoryConf(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        main = [entry for entry in search_path.get_path() if entry.provider == "main"]
        if not any("vae_lightning" in entry.path for entry in main):
            return
        search_path.prepend(provider="vae_lightning: working directory", path=f"file://{Path.cwd() / PROJECT_CONF}",
                            anchor=SearchPathQuery(provider="main"))
