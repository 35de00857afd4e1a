"""requirements.lock: every package the build installs is pinned exactly, with hashes, and the lock is current."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[str, list[str]]]:
    """{name: (version, hashes)} from the lock's `name==version \\ --hash=...` entries."""
    out = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8")):
        head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", entry)
        if head:
            out[canonical(head.group(1))] = (head.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", entry))
    return out


def requirement_names(requirements: list[str]) -> set[str]:
    return {canonical(re.match(r"[A-Za-z0-9._-]+", r).group(0)) for r in requirements}


def test_every_package_is_pinned_with_hashes():
    text = LOCK.read_text(encoding="utf-8")
    entries = locked()
    assert len(entries) > 100
    lines = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert all("==" in line for line in lines), [line for line in lines if "==" not in line]
    assert all(hashes for _, hashes in entries.values()), [n for n, (_, h) in entries.items() if not h]


def test_the_lock_holds_every_requirement_of_bertlib_and_its_build_extras():
    """Adding a dependency to pyproject.toml without `make lock` fails here, not on a fresh machine."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = requirement_names(project["dependencies"])
    for extra in ("book", "test"):
        wanted |= requirement_names(project["optional-dependencies"][extra])
    wanted |= requirement_names(project["optional-dependencies"]["pretrained"]) | {"bertviz", "setuptools"}
    assert sorted(wanted - locked().keys()) == [], "run `make lock`"


def test_torch_is_the_pinned_cpu_build_and_ipykernel_is_capped():
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    torch_pin = re.search(r"^torch==(\S+)", constraints, re.M).group(1)
    version, _ = locked()["torch"]
    assert version.split("+")[0] == torch_pin and version.endswith("+cpu"), version
    assert int(locked()["ipykernel"][0].split(".")[0]) < 7


def test_the_makefile_installs_from_the_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"\$\(PIP\) --no-deps --require-hashes -r \$\(LOCK\)", makefile)
    assert "--no-build-isolation -e ." in makefile
