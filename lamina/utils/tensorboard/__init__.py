"""`lm.utils.tensorboard`: torch.utils.tensorboard's `SummaryWriter`, writing real
event files through the `tensorboard` package (`pip install 'lamina[io]'`)."""

from lamina.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]
