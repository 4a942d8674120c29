"""Porting a PyTorch program by its imports: `import torch` becomes `import lamina as
torch`, `from torch.x import y` becomes `from lamina.x import y`; nothing else changes.
The port suite (`tests/test_ported.py`) and `bench.eager` run torch programs this way."""

from __future__ import annotations

import re
import types
from pathlib import Path

__all__ = ["load_program", "port_source"]


def port_source(source: str) -> str:
    """The import-only change: every `torch` in an import statement becomes lamina."""
    def imports(line: str) -> str:
        if re.match(r"\s*import torch\s*$", line):
            return line.replace("import torch", "import lamina as torch")
        if re.match(r"\s*(import|from) torch\b", line):
            return re.sub(r"\btorch\b", "lamina", line, count=1)
        return line
    return "\n".join(imports(line) for line in source.splitlines()) + "\n"


def load_program(path: Path, ported: bool, prefix: str = "ported") -> types.ModuleType:
    """The program at `path` as a module: as written (torch), or ported to lamina."""
    source = path.read_text()
    module = types.ModuleType(f"{prefix}_{path.stem}_{'lamina' if ported else 'torch'}")
    module.__file__ = str(path)
    exec(compile(port_source(source) if ported else source, str(path), "exec"), module.__dict__)
    return module
