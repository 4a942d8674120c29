"""`lm.optim`: torch's optimizers (constructors, update formulas, state dicts) and
`lm.optim.lr_scheduler`."""

from lamina.optim import lr_scheduler
from lamina.optim.adam import Adam, Adamax, AdamW, NAdam, RAdam
from lamina.optim.adaptive import Adadelta, Adagrad, RMSprop
from lamina.optim.lbfgs import LBFGS
from lamina.optim.optimizer import Optimizer
from lamina.optim.sgd import SGD

__all__ = ["LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam",
           "Optimizer", "RAdam", "RMSprop", "lr_scheduler"]
