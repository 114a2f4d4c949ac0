"""The README and docs/ against the code: config groups, options and keys, the package layout, links and images,
the training command's --help text and the choices the code accepts. A docs page that drifts from the code fails
here rather than misleading a reader."""

import re
from pathlib import Path

import pytest
from hydra import initialize_config_dir
from hydra._internal.utils import get_args_parser  # the parser Hydra's own --help passes; its flags are not shown
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

import vae_lightning.config.schema  # noqa: F401  (registers the schema train.yaml names)
import vae_lightning.runs.keys  # noqa: F401  (registers the resolver train.yaml's hydra node reads)
from vae_lightning.models.kl_schedules import SCHEDULES
from vae_lightning.models.likelihoods import LIKELIHOODS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
DOCS = ROOT / "docs"
CONF = ROOT / "conf"
PACKAGE = ROOT / "vae_lightning"
PAGES = sorted(DOCS.glob("*.md"))
MAX_README_LINES = 250
TEST_COMMAND_MARKER = "<!-- test-command -->"
HELP_MARKER = "<!-- train-help"
# Pages that another branch is writing: a link to one counts as resolved while the page is missing, and is checked like
# any other once it exists.
# experiment options set keys of other groups (model.latent_dim, trainer.max_steps, …), not keys of their own.
GROUPS_WITHOUT_OWN_KEYS = {"experiment"}

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`]+)`")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
TEST_REFERENCE = re.compile(r"^(test_\w+\.py)?(?:::(\w+))?(?:\[.*\])?$")


def _prose(path: Path) -> str:
    """The Markdown of `path` without its fenced code blocks, where nothing is a link."""
    return FENCE.sub("", path.read_text())


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in _prose(path).splitlines() if line.startswith("#")}


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _table(text: str, header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row is `header`, as lists of cells."""
    lines = text.splitlines()
    start = lines.index(header) + 2  # the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def _section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    body = text.split(heading + "\n", 1)[1]
    stop = re.search(rf"^#{{1,{len(level)}}} ", body, re.MULTILINE)
    return body[: stop.start()] if stop else body


def _code_spans(text: str) -> list[str]:
    return CODE.findall(text)


def _config_groups() -> dict[str, set[str]]:
    """Every config group under conf/ (a folder holding YAML files) and its options."""
    groups: dict[str, set[str]] = {}
    for yaml_file in CONF.rglob("*.yaml"):
        if yaml_file.parent != CONF:
            groups.setdefault(yaml_file.parent.relative_to(CONF).as_posix(), set()).add(yaml_file.stem)
    return groups


def _configuration_rows() -> dict[str, tuple[set[str], set[str]]]:
    """docs/configuration.md's group table: group → (the options named, every code span of 'what it sets')."""
    rows = _table((DOCS / "configuration.md").read_text(), "| group | options | what it sets |")
    return {_code_spans(group)[0]: (set(_code_spans(options)), set(_code_spans(sets))) for group, options, sets in rows}


def _render_train_help() -> str:
    """What `python -m vae_lightning.train --help` prints, rendered in-process by Hydra from conf/train.yaml."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3", job_name="train"):
        hydra_app = GlobalHydra.instance().hydra
        cfg = hydra_app.compose_config("train", overrides=[], run_mode=RunMode.RUN)
        return hydra_app.get_help(cfg.hydra.help, cfg, get_args_parser(), resolve=False)


def _documented_train_help() -> str:
    lines = (DOCS / "configuration.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(HELP_MARKER))
    assert lines[start + 1] == "```text", "the help text must follow its marker as a ```text block"
    end = lines.index("```", start + 2)
    return "\n".join(lines[start + 2:end])


def _help_choices(help_text: str, key: str) -> set[str]:
    line = next(line for line in help_text.splitlines() if line.split()[:1] == [key])
    return {choice.strip() for choice in line.split(None, 1)[1].split("|")}


def test_readme_is_at_most_250_lines():
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


def test_readme_keeps_the_test_command_where_ci_reads_it():
    lines = README.read_text().splitlines()
    assert lines.count(TEST_COMMAND_MARKER) == 1
    at = lines.index(TEST_COMMAND_MARKER)
    # .ci/run takes the second line after the marker and refuses a command that does not run pytest
    assert lines[at + 1] == "```bash"
    assert "python -m pytest" in lines[at + 2]
    assert lines[at + 3] == "```"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_and_image_resolves(page):
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.is_file():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.name}: {broken}"


def test_every_docs_page_opens_with_a_summary_that_links_back_to_the_readme():
    for page in PAGES:
        blocks = [block.strip() for block in page.read_text().split("\n\n")]
        title, summary = blocks[0], blocks[1]
        assert title.startswith("# ") and "\n" not in title, page.name
        assert not summary.startswith(("#", "|", "-", "```", "!")), f"{page.name} opens without a summary paragraph"
        assert "](../README.md" in summary, f"{page.name}'s summary does not link back to the README"


def test_the_configuration_table_lists_every_group_and_option_under_conf_and_no_other():
    documented = {group: options for group, (options, _) in _configuration_rows().items()}
    assert documented == _config_groups()


def test_the_configuration_table_names_every_key_each_option_sets():
    rows = _configuration_rows()
    missing = []
    for group, options in _config_groups().items():
        if group in GROUPS_WITHOUT_OWN_KEYS:
            continue
        named = rows[group][1]
        for option in options:
            keys = _option_keys(CONF / group / f"{option}.yaml", group) - {"defaults", "_target_"}
            missing += [f"{group}/{option}: {key}" for key in sorted(keys - named)]
    assert not missing


def _option_keys(path: Path, group: str) -> set[str]:
    """The keys an option sets: its own, or, for one in the global package (model=dcgan also sets the optimiser),
    those under its group's node and every other setting as a dotted path (`optimizer.lr`)."""
    config = OmegaConf.load(path)
    if not path.read_text().startswith("# @package _global_"):
        return set(config.keys())
    settings = OmegaConf.to_container(config)
    own = settings.pop(group, {})

    def dotted(node: object, prefix: str) -> set[str]:
        if not isinstance(node, dict):
            return {prefix}
        return set().union(*(dotted(value, f"{prefix}.{key}") for key, value in node.items()))

    return set(own) | set().union(*(dotted(value, key) for key, value in settings.items()))


def test_the_configuration_page_names_every_top_level_key_of_train_yaml():
    keys = set(OmegaConf.load(CONF / "train.yaml").keys()) - {"defaults", "hydra"}
    section = _section((DOCS / "configuration.md").read_text(), "## Top-level keys")
    assert keys <= set(_code_spans(section))


def test_the_layout_table_lists_every_package_module_and_only_files_that_exist():
    rows = _table(_section(ARCHITECTURE.read_text(), "## Every module"), "| folder | modules |")
    listed, absent = set(), []
    for folder_cell, files_cell in rows:
        folder = ROOT / _code_spans(folder_cell)[0]
        assert folder.is_dir(), folder
        for name in _code_spans(files_cell):
            if re.fullmatch(r"[\w/]+\.(py|yaml|md|sh)", name):  # a file of the folder, or a path from the root
                if (folder / name).is_file():
                    listed.add(folder / name)
                elif not (ROOT / name).is_file():
                    absent.append(f"{folder.relative_to(ROOT)}: {name}")
    modules = {path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"}
    assert not absent
    assert not sorted(path.relative_to(ROOT).as_posix() for path in modules - listed)


def _unknown_references(line: str, test_files: dict[str, list[Path]]) -> list[str]:
    """Code spans of `line` naming a test (`test_x.py::test_name`, or `::test_name` after one) or a source path
    (`vae_lightning/runs/lock.py`, `models/nets/sub_pixel.py`) that does not exist."""
    unknown, test_file = [], None
    for span in _code_spans(line):
        reference = TEST_REFERENCE.match(span)
        if reference and any(reference.groups()):
            test_file, test_name = reference.group(1) or test_file, reference.group(2)
            if test_file not in test_files:
                unknown.append(span)
            elif test_name and not any(f"def {test_name}(" in path.read_text() for path in test_files[test_file]):
                unknown.append(f"{test_file}::{test_name}")
        elif re.fullmatch(r"[\w.]+(/[\w.]+)+\.(py|sh|md)", span) and not any(
                (base / span).is_file() for base in (ROOT, PACKAGE)):
            unknown.append(span)
    return unknown


def test_the_source_files_and_tests_the_docs_name_exist():
    test_files: dict[str, list[Path]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):  # a name can stand in unit/ and e2e/ both
        test_files.setdefault(path.name, []).append(path)
    unknown = [f"{page.name}: {span}" for page in [README, *PAGES] for line in page.read_text().splitlines()
               for span in _unknown_references(line, test_files)]
    assert not unknown


def test_the_documented_train_help_is_what_the_command_prints():
    assert _documented_train_help() == _render_train_help().rstrip("\n")


def test_the_help_and_the_docs_name_every_likelihood_and_kl_schedule_the_code_accepts():
    help_text = _render_train_help()
    assert _help_choices(help_text, "model.likelihood") == set(LIKELIHOODS)
    assert _help_choices(help_text, "model.kl_schedule") == set(SCHEDULES)
    header = "| `model.likelihood` | on | −log p(x\\|z) is | units |"
    likelihood_table = _table((DOCS / "likelihoods.md").read_text(), header)
    assert {_code_spans(row[0])[0] for row in likelihood_table} == set(LIKELIHOODS)
    assert set(LIKELIHOODS) | set(SCHEDULES) <= _configuration_rows()["model"][1]
