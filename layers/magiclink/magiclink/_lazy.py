"""Enter a package without running its `__init__`, for a package whose `__init__` imports far more than the
service uses. Its submodules import as usual; a name its `__init__` re-exports from `submodule` is taken from
there; any other name runs the real `__init__` the first time it is asked for. Nothing that uses the package
notices, except that what it does not use is never loaded."""

from __future__ import annotations

import importlib
import importlib.util
import sys


def skip_package_init(name: str, submodule: str) -> None:
    """Put package `name` in sys.modules with its `__init__` not run (nothing changes if it is loaded already)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)
    loaded = False

    def __getattr__(attribute: str) -> object:
        nonlocal loaded
        if not loaded:
            if importlib.util.find_spec(f"{name}.{attribute}") is not None:
                return importlib.import_module(f"{name}.{attribute}")
            source = importlib.import_module(f"{name}.{submodule}")
            if hasattr(source, attribute):
                return getattr(source, attribute)
            loaded = True
            spec.loader.exec_module(package)  # the real __init__, once: every name it defines
            if attribute in package.__dict__:
                return package.__dict__[attribute]
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    package.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)
