"""PortGuard: risk targeting, container security and information sharing for European container ports."""

__version__ = "0.1.0"
