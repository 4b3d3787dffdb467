#!/usr/bin/env python3
"""Writes a variant of the conformance set with other network shapes and
hyper-parameters, computed with PyTorch in float64 following
../shared/conformance/README.md, to check that the suites are right in
general and not only on the visible files:

    python3 conformance-tests/variant.py /tmp/variant
    NNSPEC_CONFORMANCE=/tmp/variant cargo test -p nnspec-conformance-tests -p nnspec

The variant starts as a copy of the visible set (so the data sets, activations
and losses stay), then its networks/ and optimizers/ (isolated.json included)
are replaced by new ones.
Creates its own virtual environment (bench/.venv, shared with peers.py) and
installs PyTorch there; not part of CI.
"""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, "..", "bench", ".venv")
SOURCE = os.environ.get("NNSPEC_CONFORMANCE", os.path.join(HERE, "..", "..", "shared", "conformance"))


def ensure_venv():
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([python, "-m", "pip", "install", "-q", "numpy", "torch"])
    os.execv(python, [python] + sys.argv)


# name, layer widths, hidden activations, output activation, loss, batch rows
NETWORKS = [
    ("mlp_5_7_3_sigmoid_bce", [5, 7, 3], ["sigmoid"], "sigmoid", "binary_cross_entropy", 6),
    ("mlp_2_6_5_2_tanh_relu_mse", [2, 6, 5, 2], ["tanh", "relu"], "identity", "mse", 9),
    ("mlp_6_9_4_relu_softmax_ce", [6, 9, 4], ["relu"], "softmax", "softmax_cross_entropy", 7),
]

# id, optimizer, hyper-parameters, regularisation (kind, coef, "all"|"weights") or None
RUNS = [
    ("sgd", "SGD", dict(lr=0.07, momentum=0, dampening=0, nesterov=False, weight_decay=0), None),
    ("sgd_momentum", "SGD", dict(lr=0.03, momentum=0.8, dampening=0.25, nesterov=False, weight_decay=0), None),
    ("sgd_nesterov", "SGD", dict(lr=0.04, momentum=0.7, dampening=0, nesterov=True, weight_decay=0.02), None),
    ("adagrad", "Adagrad", dict(lr=0.2, lr_decay=0.1, weight_decay=0, initial_accumulator_value=0.25, eps=1e-10), None),
    ("rmsprop_centered", "RMSprop", dict(lr=0.005, alpha=0.95, eps=1e-6, weight_decay=0, momentum=0.5, centered=True), None),
    ("adam", "Adam", dict(lr=0.02, betas=[0.8, 0.99], eps=1e-7, weight_decay=0.01, amsgrad=True), None),
    ("adamw", "AdamW", dict(lr=0.015, betas=[0.85, 0.995], eps=1e-8, weight_decay=0.05, amsgrad=False), None),
    ("sgd_l2_weights_only", "SGD", dict(lr=0.08, momentum=0, dampening=0, nesterov=False, weight_decay=0.03),
     ("l2_weight_decay", 0.03, "weights")),
    ("sgd_l1_all", "SGD", dict(lr=0.06, momentum=0, dampening=0, nesterov=False, weight_decay=0),
     ("l1_penalty", 0.02, "all")),
]


def dyadic(t):
    """Rounds to multiples of 1/1024 so f32 holds every input exactly."""
    return (t * 1024).round() / 1024


def main():
    ensure_venv()
    import torch

    torch.set_default_dtype(torch.float64)
    out = sys.argv[1] if len(sys.argv) > 1 else "variant"
    if os.path.exists(out):
        shutil.rmtree(out)
    shutil.copytree(SOURCE, out)
    for sub in ("networks", "optimizers"):
        for name in os.listdir(os.path.join(out, sub)):
            os.remove(os.path.join(out, sub, name))

    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z,
           "softmax": lambda z: torch.softmax(z, dim=1)}

    for index, (name, widths, hidden, output, loss_type, rows) in enumerate(NETWORKS):
        gen = torch.Generator().manual_seed(100 + index)
        layers = [{"name": f"layer{l + 1}", "in": widths[l], "out": widths[l + 1],
                   "activation": (hidden + [output])[l], "bias": True} for l in range(len(widths) - 1)]
        order = [f"{k}{l + 1}" for l in range(len(layers)) for k in ("W", "b")]
        X = dyadic(torch.randn(rows, widths[0], generator=gen))
        if loss_type == "softmax_cross_entropy":
            y = torch.randint(0, widths[-1], (rows,), generator=gen)
        elif loss_type == "binary_cross_entropy":
            y = torch.randint(0, 2, (rows, widths[-1]), generator=gen).double()
        else:
            y = dyadic(torch.randn(rows, widths[-1], generator=gen))

        def forward(params):
            a, values = X, {}
            for l, layer in enumerate(layers):
                z = a @ params[f"W{l + 1}"] + params[f"b{l + 1}"]
                if z.requires_grad:
                    z.retain_grad()
                a = act[layer["activation"]](z)
                values[f"Z{l + 1}"], values[f"A{l + 1}"] = z, a
            return z, values

        def data_loss(params):
            z, values = forward(params)
            if loss_type == "softmax_cross_entropy":
                loss = torch.nn.functional.cross_entropy(z, y)
            elif loss_type == "binary_cross_entropy":
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
            else:
                loss = torch.nn.functional.mse_loss(z, y)
            return loss, values

        # Initial weights: dyadic, redrawn until ReLU pre-activations keep clear of the kink.
        for attempt in range(1000):
            params = {}
            for l, layer in enumerate(layers):
                scale = 1.0 / layer["in"] ** 0.5
                params[f"W{l + 1}"] = dyadic(torch.randn(layer["in"], layer["out"], generator=gen) * scale)
                params[f"b{l + 1}"] = dyadic(torch.randn(layer["out"], generator=gen) * 0.1)
            if clear_of_kinks(params, layers, forward, data_loss, torch):
                break
        else:
            raise SystemExit(f"{name}: no initial point keeps ReLU inputs away from 0")

        leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        loss, values = data_loss(leaves)
        loss.backward()
        network = {
            "name": name,
            "format": "see README.md section 'networks/'",
            "layout": "W{l}: [in][out] (row = input unit), b{l}: [out]; Z{l} = A{l-1} @ W{l} + b{l}; A0 = X",
            "layers": layers,
            "loss": {"type": loss_type, "reduction": "mean"},
            "param_order": order,
            "params": {k: params[k].tolist() for k in order},
            "batch": {"X": X.tolist(), "y": y.tolist()},
            "forward": {k: v.detach().tolist() for k, v in values.items()},
            "loss_value": loss.item(),
            "grads": {k: leaves[k].grad.tolist() for k in order},
            "deltas": {f"dZ{l + 1}": values[f"Z{l + 1}"].grad.tolist() for l in range(len(layers))},
        }
        write(os.path.join(out, "networks", f"{name}.json"), network)

        runs = []
        for run_id, optimizer, hyper, regularization in RUNS:
            runs.append(trajectory(torch, params, order, data_loss, run_id, optimizer, hyper, regularization))
        write(os.path.join(out, "optimizers", f"{name}.json"), {
            "network": name, "network_file": f"networks/{name}.json",
            "format": "see README.md section 'optimizers/'", "steps": 5, "param_order": order, "runs": runs,
        })
    write(os.path.join(out, "optimizers", "isolated.json"), isolated(torch))
    print(f"wrote {out}")


def isolated(torch):
    """Update rules without a network: a fixed gradient sequence with a zero, a
    vanishing, a tiny and a large component."""
    gen = torch.Generator().manual_seed(7)
    n = 9
    p0 = dyadic(torch.randn(n, generator=gen))
    grads = dyadic(torch.randn(5, n, generator=gen) * 0.5)
    grads[:, 2] = 0.0
    grads[2:, 3] = 0.0
    grads[:, 4] = (grads[:, 4] * 2 ** 12).round() / 2 ** 22
    grads[:, 5] = dyadic(grads[:, 5] * 24)
    runs = []
    for run_id, optimizer, hyper, regularization in RUNS:
        p = p0.clone().requires_grad_(True)
        # An L2 run's hyper-parameters carry its coefficient as weight_decay.
        opt = build_optimizer(torch, optimizer, [p], hyper)
        reg = None
        if regularization:
            kind, coef, _ = regularization
            reg = {"kind": kind, "coef": coef, "params": "all", "applies_to": ["p"]}
        after = []
        for t in range(5):
            opt.zero_grad()
            g = grads[t].clone()
            if reg and reg["kind"] == "l1_penalty":
                g = g + reg["coef"] * torch.sign(p.detach())
            p.grad = g
            opt.step()
            after.append(p.detach().tolist())
        runs.append({"id": run_id, "optimizer": optimizer, "hyperparameters": hyper, "regularization": reg,
                     "params_after": after})
    return {"format": "see README.md section 'optimizers/isolated.json'", "p0": p0.tolist(),
            "grads": grads.tolist(), "runs": runs}


def clear_of_kinks(params, layers, forward, data_loss, torch):
    """True when every ReLU input stays 1e-3 away from 0 for a few SGD steps around the start."""
    if not any(layer["activation"] == "relu" for layer in layers):
        return True
    p = {k: v.clone() for k, v in params.items()}
    for _ in range(6):
        with torch.no_grad():
            _, values = forward(p)
        for l, layer in enumerate(layers):
            if layer["activation"] == "relu" and values[f"Z{l + 1}"].abs().min() < 5e-2:
                return False
        leaves = {k: v.clone().requires_grad_(True) for k, v in p.items()}
        data_loss(leaves)[0].backward()
        p = {k: (leaves[k] - 0.05 * leaves[k].grad).detach() for k in p}
    return True


def build_optimizer(torch, optimizer, params, hyper):
    """`torch.optim.<optimizer>` on `params` with the run's hyper-parameters."""
    return getattr(torch.optim, optimizer)(params, **{k: (tuple(v) if k == "betas" else v) for k, v in hyper.items()})


def trajectory(torch, params, order, data_loss, run_id, optimizer, hyper, regularization):
    leaves = [params[k].clone().requires_grad_(True) for k in order]
    named = dict(zip(order, leaves))
    applies = []
    reg = None
    groups = [{"params": leaves}]
    if regularization:
        kind, coef, which = regularization
        applies = [k for k in order if which == "all" or k.startswith("W")]
        reg = {"kind": kind, "coef": coef, "params": which, "applies_to": applies}
        if kind == "l2_weight_decay" and which == "weights":
            groups = [{"params": [named[k] for k in order if k in applies]},
                      {"params": [named[k] for k in order if k not in applies], "weight_decay": 0.0}]
    opt = build_optimizer(torch, optimizer, groups, hyper)
    loss_before, penalty_before, params_after = [], [], []
    for _ in range(5):
        opt.zero_grad()
        loss, _ = data_loss(named)
        total = loss
        penalty = None
        if reg and reg["kind"] == "l1_penalty":
            penalty = reg["coef"] * sum(named[k].abs().sum() for k in applies)
            total = loss + penalty
        elif reg:
            penalty = 0.5 * reg["coef"] * sum((named[k] ** 2).sum() for k in applies)
        loss_before.append(loss.item())
        penalty_before.append(None if penalty is None else penalty.item())
        total.backward()
        opt.step()
        params_after.append({k: named[k].detach().tolist() for k in order})
    with torch.no_grad():
        loss_final = data_loss(named)[0].item()
    return {
        "id": run_id, "optimizer": optimizer, "hyperparameters": hyper, "regularization": reg,
        "loss_before": loss_before, "penalty_before": penalty_before if reg else None,
        "loss_final": loss_final, "params_after": params_after,
    }


def write(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


if __name__ == "__main__":
    main()
