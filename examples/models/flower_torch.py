"""Trains the planar-flower classifier in PyTorch and exports it to ONNX:
the model `build.rs` compiles into Rust with its weights (see
`examples/imported.rs` and docs/deployment.md). Run from `examples/`:

    python models/flower_torch.py

It writes `models/flower_torch.onnx` (TorchScript exporter, opset 17,
weights inside the file) and prints the training accuracy PyTorch measured.
"""

import csv

import torch
from torch import nn

torch.manual_seed(0)
with open("data/flower.csv") as f:
    rows = [list(map(float, r)) for r in list(csv.reader(f))[1:]]
x = torch.tensor([r[:2] for r in rows])
y = torch.tensor([[r[2]] for r in rows])

model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1), nn.Sigmoid())
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.BCELoss()
for epoch in range(2000):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
model.eval()
with torch.no_grad():
    accuracy = ((model(x) >= 0.5).float() == y).float().mean().item()
print(f"PyTorch: loss {loss.item():.4f}, training accuracy {accuracy:.4f}")
torch.onnx.export(model, (x[:1],), "models/flower_torch.onnx", dynamo=False, input_names=["point"],
                  output_names=["probability"], dynamic_axes={"point": {0: "batch"}, "probability": {0: "batch"}},
                  opset_version=17)
