"""segwarehouse: customer segments declared in YAML, compiled by sqlglot, built in your warehouse."""
from .api import build, compile, load, run, status
from .errors import SegwError, WarehouseBusy, WarehouseError, WarehouseUnavailable
from .project.loader import Project, load_project

__all__ = ["load", "build", "run", "compile", "status", "Project", "load_project", "SegwError", "WarehouseError",
           "WarehouseBusy", "WarehouseUnavailable", "__version__"]
from .version import __version__
