"""segwarehouse: customer segments declared in YAML, compiled by sqlglot, built in your warehouse."""
from .errors import SegwError, WarehouseError
from .project.loader import Project, load_project

__all__ = ["Project", "load_project", "SegwError", "WarehouseError", "__version__"]
from .version import __version__
