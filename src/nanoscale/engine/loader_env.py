"""Environment variables that change how programs are loaded, refused in project env vars.

The dynamic loader and glibc read these before a program's own code runs (`LD_PRELOAD`
loads any library, `GCONV_PATH` loads conversion modules, `MALLOC_*`/`GLIBC_TUNABLES` tune
the allocator). Tenant code never runs privileged (privileges are dropped before exec), so
this list is defence in depth: the same names glibc itself strips from setuid programs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LOADER_PREFIXES = ("LD_", "MALLOC_", "GLIBC_", "DYLD_")
LOADER_NAMES = frozenset(
    {
        "GCONV_PATH",
        "GETCONF_DIR",
        "HOSTALIASES",
        "LOCALDOMAIN",
        "LOCPATH",
        "NIS_PATH",
        "NLSPATH",
        "RESOLV_HOST_CONF",
        "RES_OPTIONS",
    }
)


def is_loader_var(name: str) -> bool:
    upper = name.upper()
    return upper in LOADER_NAMES or upper.startswith(LOADER_PREFIXES)


def loader_vars(names: Iterable[str]) -> list[str]:
    return sorted(name for name in names if is_loader_var(name))


def without_loader_vars(env: Mapping[str, str]) -> dict[str, str]:
    """The environment minus loader variables (the last line, whatever the callers checked)."""
    return {key: value for key, value in env.items() if not is_loader_var(key)}
