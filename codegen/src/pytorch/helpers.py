import torch
import torch.nn as nn
import torch.nn.functional as F


def _nnspec_name(model, key):
    """The nnspec name of a state key: the node's name for its submodule's attribute."""
    attribute, _, role = key.partition(".")
    return model.NNSPEC_NODES.get(attribute, attribute) + "." + role


def _nnspec_layout(model, name, tensor):
    """A tensor of `model` in nnspec's layout (dense weights `[in][out]`, F32)."""
    if name in model.NNSPEC_DENSE_WEIGHTS:
        tensor = tensor.t()
    return tensor.detach().to(torch.float32).contiguous()


def nnspec_state(model):
    """Every parameter and buffer of `model`, named and laid out as nnspec's weight files."""
    state = {}
    for name, tensor in model.state_dict().items():
        state[_nnspec_name(model, name)] = _nnspec_layout(model, name, tensor)
    return state


def nnspec_grads(model):
    """The gradient of every parameter, named and laid out as nnspec's weights."""
    return {
        _nnspec_name(model, name): _nnspec_layout(model, name, p.grad)
        for name, p in model.named_parameters()
        if p.grad is not None
    }


def save_nnspec(model, path, metadata=None):
    """Writes `model`'s parameters and buffers as an nnspec weight file (safetensors)."""
    from safetensors.torch import save_file

    meta = {"format": "nnspec", "network": model.NNSPEC_NAME}
    meta.update(metadata or {})
    save_file(nnspec_state(model), path, metadata=meta)


def load_nnspec(model, path):
    """Loads an nnspec weight file into `model`, checking every name and shape."""
    from safetensors.torch import load_file

    stored = load_file(path)
    # nnspec name -> (state key, tensor)
    own = {_nnspec_name(model, key): (key, tensor) for key, tensor in model.state_dict().items()}
    problems = []
    for name in own:
        if name not in stored:
            problems.append(f"missing tensor `{name}`")
    for name in stored:
        if name not in own:
            problems.append(f"unexpected tensor `{name}`")
    state = {}
    for name, (key, tensor) in own.items():
        if name not in stored:
            continue
        value = stored[name]
        if key in model.NNSPEC_DENSE_WEIGHTS:
            value = value.t()
        if tuple(value.shape) != tuple(tensor.shape):
            expected = list(_nnspec_layout(model, key, tensor).shape)
            problems.append(f"tensor `{name}` has shape {list(stored[name].shape)}, expected {expected}")
            continue
        state[key] = value.to(tensor.dtype)
    if problems:
        raise ValueError(f"{path} does not match `{model.NNSPEC_NAME}`: " + "; ".join(problems))
    model.load_state_dict(state)


class Standardize(nn.Module):
    """`(x - mean) / std` per feature with the training rows' statistics (nnspec's `standardize`)."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))
        self.register_buffer("count", torch.zeros(()))

    def adapt(self, x):
        """Sets the statistics from rows `x` if they are not set yet (population std; 1 for a constant column)."""
        if self.count.item() == 0:
            rows = x.to(torch.float64)
            self.mean.copy_(rows.mean(dim=0))
            std = rows.std(dim=0, unbiased=False)
            self.std.copy_(torch.where(std == 0, torch.ones_like(std), std))
            self.count.fill_(x.shape[0])

    def forward(self, x):
        return (x - self.mean) / self.std


def adapt(model, x):
    """Sets every `standardize` of `model` from the training rows `x`, as nnspec's trainer does."""
    for module in model.modules():
        if isinstance(module, Standardize):
            module.adapt(x)
