"""Makes an installed LeRobot 0.6.1 + PyPI torchvision importable on Python 3.11 with the CPU torch 2.13.0.

LeRobot 0.6.1 asks for Python >= 3.12 only for PEP 695 syntax in five files (`type X = ...`, `class C[T]`,
`def f[T: B]`); they are rewritten to the equivalent 3.11 spelling (TypeVar / Generic). PyPI's torchvision
registers fake kernels for its compiled `nms`/`qnms` operators, which do not load beside a CPU torch build
("operator torchvision::nms does not exist"); those registrations are skipped when the operator is absent
(pi0_fast never calls them). Idempotent: a patched file is left as it is.

Usage: python tools/lerobot/patch_py311.py <site-packages dir>
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

MARKER = "# patched for Python 3.11 by pi0fast_ros tools/lerobot/patch_py311.py"

LEROBOT_FILES = [
    "lerobot/processor/pipeline.py",
    "lerobot/motors/motors_bus.py",
    "lerobot/datasets/streaming_dataset.py",
    "lerobot/datasets/aggregate.py",
    "lerobot/utils/io_utils.py",
]

TYPE_ALIAS = re.compile(r"^(\s*)type ([A-Za-z_][A-Za-z0-9_]*) = (.*)$")
GENERIC_CLASS = re.compile(r"^class ([A-Za-z_][A-Za-z0-9_]*)\[([^\]]+)\](\((.*)\))?:")
GENERIC_DEF = re.compile(r"^def ([A-Za-z_][A-Za-z0-9_]*)\[([^\]]+)\]\(")


def type_vars(params: str) -> tuple[list[str], list[str]]:
    """`T: Bound, U` -> (['T', 'U'], ['T = TypeVar("T", bound=Bound)', 'U = TypeVar("U")'])."""
    names, lines = [], []
    for param in (p.strip() for p in params.split(",")):
        name, _, bound = param.partition(":")
        name, bound = name.strip(), bound.strip()
        names.append(name)
        lines.append(f'{name} = TypeVar("{name}", bound={bound})' if bound else f'{name} = TypeVar("{name}")')
    return names, lines


def insert_before_decorators(out: list[str], lines: list[str]) -> None:
    """Type variables go above the decorators of the class or function that declares them."""
    at = len(out)
    while at > 0 and out[at - 1].startswith("@"):
        at -= 1
    out[at:at] = lines


def rewrite(text: str) -> str:
    out: list[str] = []
    for line in text.split("\n"):
        if m := TYPE_ALIAS.match(line):
            out.append(f"{m.group(1)}{m.group(2)} = {m.group(3)}")
        elif m := GENERIC_CLASS.match(line):
            names, defs = type_vars(m.group(2))
            bases = [b for b in [m.group(4)] if b] + [f"Generic[{', '.join(names)}]"]
            insert_before_decorators(out, defs)
            out.append(f"class {m.group(1)}({', '.join(bases)}):{line[m.end():]}")
        elif m := GENERIC_DEF.match(line):
            _, defs = type_vars(m.group(2))
            insert_before_decorators(out, defs)
            out.append(f"def {m.group(1)}({line[m.end():]}")
        else:
            out.append(line)
    result = "\n".join(out)
    if result != text:
        # After a module docstring and `from __future__` imports, which must stay first.
        lines = result.split("\n")
        insert_at = 0
        for index, line in enumerate(lines):
            if line.startswith("from __future__"):
                insert_at = index + 1
        lines.insert(insert_at, f"from typing import Generic, TypeVar  {MARKER}")
        result = "\n".join(lines)
    return result


def patch_torchvision(site: Path) -> bool:
    path = site / "torchvision/_meta_registrations.py"
    if not path.exists():
        return False
    text = path.read_text()
    if MARKER in text:
        return False
    guarded = text.replace(
        '@torch.library.register_fake("torchvision::nms")',
        '@(torch.library.register_fake("torchvision::nms") if hasattr(torch.ops.torchvision, "nms") else (lambda f: f))',
    ).replace(
        '@torch.library.register_fake("torchvision::qnms")',
        '@(torch.library.register_fake("torchvision::qnms") if hasattr(torch.ops.torchvision, "qnms") else (lambda f: f))',
    )
    path.write_text(f"{MARKER}\n{guarded}")
    return True


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    site = Path(sys.argv[1])
    if not (site / "lerobot").is_dir():
        print(f"{site}: no lerobot package here; expected the venv's site-packages", file=sys.stderr)
        return 2
    for relative in LEROBOT_FILES:
        path = site / relative
        text = path.read_text()
        if MARKER in text:
            continue
        patched = rewrite(text)
        ast.parse(patched, filename=str(path), feature_version=(3, 11))
        path.write_text(patched)
        print(f"patched {relative}")
    if patch_torchvision(site):
        print("patched torchvision/_meta_registrations.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
