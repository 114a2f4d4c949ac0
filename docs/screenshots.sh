#!/usr/bin/env bash
# Regenerate the TensorBoard screenshots in docs/tensorboard/ from a real short sweep, in a real headless browser.
#   docs/screenshots.sh [sweep dir]   (default: a β = 1, 4, 16 sweep of 3 short FashionMNIST epochs of 15 batches into
#                                      a temporary directory, then its report, which also analyses the runs)
# Needs Debian's chromium (apt-get install chromium) and VAE_LIGHTNING_DATA pointing at the FashionMNIST files.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python}"
out="$repo/docs/tensorboard"
port="${PORT:-6123}"
sweep="${1:-}"
if [[ -z "$sweep" ]]; then
  sweep="$(mktemp -d)/fashion_beta_sweep"
  (cd "$repo" && "$python" -m vae_lightning.train -m data=fashion model.beta=1,4,16 trainer.max_epochs=3 \
      trainer.limit_train_batches=15 +trainer.limit_val_batches=10 trainer.limit_test_batches=10 \
      hydra.sweep.dir="$sweep" &&
   "$python" -m vae_lightning.report sweep="$sweep" \
      'analysis=["iwae.num_images=200","iwae.convergence.num_images=20","probes.max_train_images=2000"]')
fi
sweep="$(realpath "$sweep")"  # the traversal panel is read from the repository folder
"$python" -m tensorboard.main --logdir "$sweep" --host 127.0.0.1 --port "$port" --reload_interval 0 >/dev/null 2>&1 &
tensorboard_pid=$!
trap 'kill "$tensorboard_pid"' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 1; done

shoot() {  # shoot <file> <size> <dashboard>: one screenshot after the page's scripts have loaded the data
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=15000 \
      --window-size="$2" --screenshot="$out/$1" "http://127.0.0.1:$port/?darkMode=false#$3" 2>/dev/null
}
mkdir -p "$out"
shoot main_curves.png 1600,1000 custom_scalars
shoot scalars.png 1600,1000 'scalars&_smoothingWeight=0'
shoot images.png 1600,1000 'images&tagFilter=%5Eimages%2F'
shoot analysis.png 1600,1000 'images&tagFilter=%5Eanalysis%2F(traversal_0|kl_per_dim|latent_map_pca)%24'
shoot kl_by_beta.png 1600,1000 'images&tagFilter=%5Ereport%2Fkl_per_dim'
shoot hparams.png 1600,1000 hparams
# The traversal panel of the β = 1 run as "Show actual image size" shows it, then every PNG reduced to a 64-colour
# palette, which loses nothing a screenshot of charts needs and keeps the files small.
(cd "$repo" && "$python" - "$out" "$sweep/model.beta=1") <<'PY'
import sys
from pathlib import Path
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from vae_lightning.runs.directory import tensorboard_dir
events = EventAccumulator(str(tensorboard_dir(Path(sys.argv[2]))), size_guidance={"images": 0}).Reload()
(Path(sys.argv[1]) / "latent_traversal.png").write_bytes(events.Images("images/latent_traversal")[-1].encoded_image_string)
for path in Path(sys.argv[1]).glob("*.png"):
    Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)
PY
ls -l "$out"
