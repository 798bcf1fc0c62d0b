"""The installed version of mono3d-kitti (every mono3d distribution shares one version)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mono3d-kitti")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
