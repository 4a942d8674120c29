"""`lm.optim`: SGD, Adam, AdamW with torch's constructors and update formulas."""

from lamina.optim.adam import Adam, AdamW
from lamina.optim.optimizer import Optimizer
from lamina.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
