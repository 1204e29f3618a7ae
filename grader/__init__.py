"""An auto-grader for PyTorch exercises: hidden checks judge sandboxed student code against torch oracles."""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext grader`` in Jupyter or IPython: registers ``%grade`` (``grader/jupyter/magic.py``).

    The magic module, and IPython with it, is imported only here, so importing ``grader`` stays light.
    """
    from grader.jupyter.magic import register

    register(ipython)
