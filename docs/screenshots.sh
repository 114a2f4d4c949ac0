#!/usr/bin/env bash
# Regenerate the TensorBoard screenshots in docs/tensorboard/ from a real short run, in a real headless browser.
#   docs/screenshots.sh [run dir]     (default: train 2 short epochs on FashionMNIST into a temporary directory)
# Needs Debian's chromium (apt-get install chromium) and VAE_LIGHTNING_DATA pointing at the FashionMNIST files.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python}"
out="$repo/docs/tensorboard"
port="${PORT:-6123}"
run="${1:-}"
if [[ -z "$run" ]]; then
  run="$(mktemp -d)/fashion_beta1"
  (cd "$repo" && "$python" -m vae_lightning.train data=fashion trainer.max_epochs=3 trainer.limit_train_batches=100 \
      trainer.log_every_n_steps=10 hydra.run.dir="$run")
fi
"$python" -m tensorboard.main --logdir "$run" --host 127.0.0.1 --port "$port" --reload_interval 0 >/dev/null 2>&1 &
tensorboard_pid=$!
trap 'kill "$tensorboard_pid"' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 1; done

shoot() {  # shoot <file> <size> <dashboard>: one screenshot after the page's scripts have loaded the data
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=15000 \
      --window-size="$2" --screenshot="$out/$1" "http://127.0.0.1:$port/?darkMode=false#$3" 2>/dev/null
}
mkdir -p "$out"
shoot main_curves.png 1400,800 custom_scalars
shoot images.png 1400,1100 images
# The traversal panel as "Show actual image size" shows it, then every PNG reduced to a 64-colour palette, which
# loses nothing a screenshot of charts needs and keeps the files small.
"$python" - "$out" "$run/tensorboard" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
events = EventAccumulator(sys.argv[2], size_guidance={"images": 0}).Reload()
(Path(sys.argv[1]) / "latent_traversal.png").write_bytes(events.Images("images/latent_traversal")[-1].encoded_image_string)
for path in Path(sys.argv[1]).glob("*.png"):
    Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)
PY
ls -l "$out"
