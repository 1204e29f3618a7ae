"""An auto-grader for PyTorch exercises: hidden checks judge sandboxed student code against torch oracles."""

__version__ = "0.1.0"
