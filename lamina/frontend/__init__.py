"""The frontend: `Tensor`, tracing, `jit`, autograd and the functional API.

Importing any frontend module installs the Tensor operators and methods first
(`methods.py`), so that tensors behave the same however lamina was imported.
"""

from lamina.frontend.tensor import _install_methods

__all__: list[str] = []  # the API is in the modules; `lamina.api` gathers `lm.*` from them

_install_methods()
