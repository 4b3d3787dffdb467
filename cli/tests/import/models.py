"""Builds small PyTorch models of the kinds users import, exports each with
every ONNX exporter the installed PyTorch offers (the TorchScript one and
the `dynamo` one, which needs onnxscript), and writes per export the model,
input rows and onnxruntime's outputs on the exported file.

Usage: models.py OUT_DIR. Writes OUT_DIR/cases.json:
[{"name", "exporter", "model", "input_csv", "expected_csv"} | {"name", "exporter", "export_error"}…].
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import onnxruntime
import torch
from torch import nn

warnings.filterwarnings("ignore")
torch.manual_seed(0)


class StandardizedMlp(nn.Module):
    """An MLP whose standardisation is part of the model (buffers, Sub and Div)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.linspace(-1.0, 2.0, 6))
        self.register_buffer("std", torch.linspace(0.5, 3.0, 6))
        self.hidden = nn.Linear(6, 16)
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        x = (x - self.mean) / self.std
        return torch.softmax(self.out(torch.relu(self.hidden(x))), dim=-1)


class BatchNormCnn(nn.Module):
    """A 2-D CNN with batch norm (folded by the exporters in eval mode), grouped convolution and pools."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = nn.functional.avg_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return torch.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)


class SignalCnn(nn.Module):
    """A strided and dilated 1-D CNN with a global average (ReduceMean) and a multi-label head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 6, 5, stride=2, padding=2)
        self.conv2 = nn.Conv1d(6, 6, 3, padding=2, dilation=2)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        x = torch.tanh(self.conv1(x))
        x = nn.functional.leaky_relu(self.conv2(x), 0.2)
        return torch.sigmoid(self.head(x.mean(dim=2)))


class ResidualNorm(nn.Module):
    """A residual MLP with layer norm and GELU (`Gelu`, or its erf form before opset 20)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(8, 16)
        self.norm = nn.LayerNorm(16)
        self.block = nn.Linear(16, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, x):
        h = nn.functional.gelu(self.embed(x))
        h = h + torch.relu(self.block(self.norm(h)))
        return self.out(h)


class ErfGelu(nn.Module):
    """GELU written out as `x·(1 + erf(x/√2))/2`, as older exports have it, and ELU."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(5, 7)
        self.b = nn.Linear(7, 2)

    def forward(self, x):
        h = self.a(x)
        h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))
        return self.b(nn.functional.elu(h, 0.5))


class TwoBranches(nn.Module):
    """Two branches of the same input, concatenated."""

    def __init__(self):
        super().__init__()
        self.deep = nn.Linear(4, 6)
        self.wide = nn.Linear(4, 3)
        self.out = nn.Linear(9, 1)

    def forward(self, x):
        both = torch.cat([torch.tanh(self.deep(x)), nn.functional.softplus(self.wide(x))], dim=1)
        return self.out(both)


class GruClassifier(nn.Module):
    """A GRU over a [T, F] sequence, its last state into a classifier."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 8, batch_first=True)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        _, h = self.rnn(x)
        return torch.softmax(self.fc(h[-1]), dim=-1)


class ConvGru(nn.Module):
    """A 1-D convolution whose [C, L] output a GRU reads as L steps of C features (`transpose(1, 2)`)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 5, 3, padding=1)
        self.rnn = nn.GRU(5, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        h = torch.relu(self.conv(x)).transpose(1, 2)
        _, state = self.rnn(h)
        return self.fc(state[-1])


class BidirectionalLstm(nn.Module):
    """A bidirectional LSTM whose whole sequence is flattened into a regression head."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(2, 3, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(5 * 6, 2)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(torch.flatten(y, 1))


MODELS = [
    ("standardized_mlp", StandardizedMlp, [6]),
    ("batch_norm_cnn", BatchNormCnn, [1, 8, 8]),
    ("signal_cnn", SignalCnn, [2, 24]),
    ("residual_norm", ResidualNorm, [8]),
    ("erf_gelu", ErfGelu, [5]),
    ("two_branches", TwoBranches, [4]),
    ("gru_classifier", GruClassifier, [6, 3]),
    ("bidirectional_lstm", BidirectionalLstm, [5, 2]),
    ("conv_gru", ConvGru, [2, 8]),
]


def write_csv(path, array, prefix):
    flat = array.reshape(array.shape[0], -1)
    with open(path, "w") as f:
        f.write(",".join(f"{prefix}{i}" for i in range(flat.shape[1])) + "\n")
        for row in flat:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def export(model, example, path, dynamo):
    if dynamo:
        batch = torch.export.Dim("batch", min=1, max=1024)
        torch.onnx.export(model, (example,), path, dynamo=True, input_names=["x"], output_names=["y"],
                          dynamic_shapes=({0: batch},), verbose=False)
    else:
        torch.onnx.export(model, (example,), path, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17)


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    cases = []
    for name, build, shape in MODELS:
        model = build().eval()
        # Non-trivial running statistics, as a trained model has.
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.data.uniform_(0.5, 1.5)
                module.bias.data.uniform_(-0.2, 0.2)
        x = rng.standard_normal([16] + shape).astype(np.float32)
        input_csv = os.path.join(out, f"{name}.input.csv")
        write_csv(input_csv, x, "x")
        for exporter, dynamo in [("torchscript", False), ("dynamo", True)]:
            path = os.path.join(out, f"{name}.{exporter}.onnx")
            case = {"name": name, "exporter": exporter}
            try:
                export(model, torch.from_numpy(x[:2]), path, dynamo)
            except Exception as error:  # an exporter that cannot write this model: reported, not imported
                case["export_error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                cases.append(case)
                continue
            session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
            y = session.run(None, {session.get_inputs()[0].name: x})[0]
            expected_csv = os.path.join(out, f"{name}.{exporter}.expected.csv")
            write_csv(expected_csv, y, "y")
            case.update(model=path, input_csv=input_csv, expected_csv=expected_csv)
            cases.append(case)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
