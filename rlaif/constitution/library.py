"""Where the built-in principles, constitutions, prompt sets and configs live.

In a wheel they are packaged under ``rlaif/_library/``; in a source checkout (editable install) they
are the top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

from rlaif.config import closest

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def library_root() -> Path:
    """The folder holding ``principles/``, ``constitution/``, ``eval/`` and ``configs/``."""
    packaged = _PACKAGE_DIR / "_library"
    if (packaged / "principles").is_dir():
        return packaged
    return _PACKAGE_DIR.parent


def principles_dir() -> Path:
    """Folder of the built-in principle files."""
    return library_root() / "principles"


def constitutions_dir() -> Path:
    """Folder of the built-in constitutions (and their ``templates/``)."""
    return library_root() / "constitution"


def eval_dir() -> Path:
    """Folder of the built-in prompt sets and evaluation suites."""
    return library_root() / "eval"


def configs_dir() -> Path:
    """Folder of the example pipeline and accelerate configs."""
    return library_root() / "configs"


def builtin_principle_files() -> list[Path]:
    """Every built-in principle file, sorted by name."""
    return sorted(principles_dir().glob("*.yaml"))


def builtin_constitution_files() -> dict[str, Path]:
    """Built-in constitutions by name (file stem)."""
    return {path.stem: path for path in sorted(constitutions_dir().glob("*.yaml"))}


def unknown_constitution(value: str, base: Path) -> tuple[str, str] | None:
    """``None`` when ``value`` names a built-in constitution or a file (relative to ``base``);
    else what it is: ``("file", "")`` for a path that is not there, ``("name", hint)`` for an
    unknown name, ``hint`` being "did you mean ...?" or the built-in names."""
    built_in = builtin_constitution_files()
    if value in built_in or (base / value).exists():
        return None
    if Path(value).suffix in (".yaml", ".yml") or "/" in value:
        return "file", ""
    hint = closest(value, built_in)
    return "name", f"did you mean {hint!r}?" if hint else f"built-in: {', '.join(built_in)}"


def display_path(path: Path) -> str:
    """A short path for messages: relative to the working directory or the library, if inside."""
    resolved = path.resolve()
    for base in (Path.cwd().resolve(), library_root().resolve()):
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return str(path)
