#!/usr/bin/env python3
"""The peers of the benchmark suite: the same workloads in NumPy (written as the
tutorials write them) and PyTorch eager (2 threads). Creates its own virtual
environment under bench/.venv and installs what it needs; not part of CI.

    python3 bench/peers.py            # NumPy and, if it installs, PyTorch
    python3 bench/peers.py --numpy    # NumPy only
    NNSPEC_PEERS_PYTHON=/path/to/python python3 bench/peers.py   # a Python that has them already
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")


def ensure_venv(with_torch):
    given = os.environ.get("NNSPEC_PEERS_PYTHON")
    if given and os.path.abspath(sys.executable) != os.path.abspath(given):
        os.execv(given, [given] + sys.argv)
    if given:
        return
    python = os.path.join(VENV, "bin", "python")
    if sys.prefix == VENV:
        return
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    packages = ["numpy"] + (["torch"] if with_torch else [])
    subprocess.check_call([python, "-m", "pip", "install", "-q"] + packages)
    os.execv(python, [python] + sys.argv)


def median_time(fn, reps=7):
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def flower():
    import numpy as np
    data = np.loadtxt(os.path.join(HERE, "..", "examples", "data", "flower.csv"), delimiter=",", skiprows=1, dtype=np.float32)
    return data[:, :2], data[:, 2:3]


def numpy_workloads():
    import numpy as np
    rows = {}

    def w1():
        X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float32)
        y = np.array([[0, 1, 1, 0]], dtype=np.float32).T
        np.random.seed(1)
        syn0 = (2 * np.random.random((3, 4)) - 1).astype(np.float32)
        syn1 = (2 * np.random.random((4, 1)) - 1).astype(np.float32)
        for _ in range(1500):
            l1 = 1 / (1 + np.exp(-X.dot(syn0)))
            l2 = 1 / (1 + np.exp(-l1.dot(syn1)))
            d2 = (y - l2) * (l2 * (1 - l2))
            d1 = d2.dot(syn1.T) * (l1 * (1 - l1))
            syn1 += l1.T.dot(d2)
            syn0 += X.T.dot(d1)

    X, Y = flower()
    Xt, Yt = X.T.copy(), Y.T.copy()

    def w2():
        np.random.seed(2)
        W1 = (np.random.randn(4, 2) * 0.01).astype(np.float32)
        b1 = np.zeros((4, 1), np.float32)
        W2 = (np.random.randn(1, 4) * 0.01).astype(np.float32)
        b2 = np.zeros((1, 1), np.float32)
        m = Xt.shape[1]
        for _ in range(10000):
            A1 = np.tanh(W1 @ Xt + b1)
            A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
            dZ2 = A2 - Yt
            dW2 = dZ2 @ A1.T / m
            db2 = dZ2.sum(axis=1, keepdims=True) / m
            dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)
            dW1 = dZ1 @ Xt.T / m
            db1 = dZ1.sum(axis=1, keepdims=True) / m
            W1 -= 1.2 * dW1; b1 -= 1.2 * db1; W2 -= 1.2 * dW2; b2 -= 1.2 * db2

    rng = np.random.default_rng(0)
    Xd = rng.random((1437, 64), dtype=np.float32)
    yd = rng.integers(0, 10, 1437)

    def w3():
        params = [rng.standard_normal((64, 32)).astype(np.float32) * 0.1, np.zeros(32, np.float32),
                  rng.standard_normal((32, 10)).astype(np.float32) * 0.1, np.zeros(10, np.float32)]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        t = 0
        for _ in range(30):
            order = rng.permutation(len(Xd))
            for s in range(0, len(Xd), 32):
                idx = order[s:s + 32]
                x, lab = Xd[idx], yd[idx]
                z1 = x @ params[0] + params[1]
                a1 = np.maximum(z1, 0)
                z2 = a1 @ params[2] + params[3]
                p = np.exp(z2 - z2.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                p[np.arange(len(idx)), lab] -= 1
                p /= len(idx)
                da1 = p @ params[2].T * (z1 > 0)
                grads = [x.T @ da1, da1.sum(0), a1.T @ p, p.sum(0)]
                t += 1
                for i, g in enumerate(grads):
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    params[i] -= 1e-3 / (1 - 0.9 ** t) * m[i] / (np.sqrt(v[i]) / np.sqrt(1 - 0.999 ** t) + 1e-8)

    W1p = rng.standard_normal((64, 32)).astype(np.float32)
    W2p = rng.standard_normal((32, 10)).astype(np.float32)
    xs = rng.standard_normal(64).astype(np.float32)

    def w5():
        for _ in range(10000):
            np.maximum(xs @ W1p, 0) @ W2p

    rows["W1"] = median_time(w1)
    rows["W2"] = median_time(w2, reps=3)
    rows["W3"] = median_time(w3, reps=3)
    rows["W5"] = median_time(w5) / 10000
    return rows


def torch_workloads():
    import torch
    torch.set_num_threads(2)
    rows = {}

    def w1():
        X = torch.tensor([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=torch.float32)
        y = torch.tensor([[0], [1], [1], [0]], dtype=torch.float32)
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.Sigmoid(), torch.nn.Linear(4, 1, bias=False), torch.nn.Sigmoid())
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        for _ in range(1500):
            opt.zero_grad()
            (0.5 * ((model(X) - y) ** 2).sum()).backward()
            opt.step()

    X, Y = (torch.from_numpy(a) for a in flower())

    def w2():
        torch.manual_seed(2)
        model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1), torch.nn.Sigmoid())
        opt = torch.optim.SGD(model.parameters(), lr=1.2)
        for _ in range(10000):
            opt.zero_grad()
            torch.nn.functional.binary_cross_entropy(model(X), Y).backward()
            opt.step()

    gen = torch.Generator().manual_seed(0)
    Xd = torch.rand(1437, 64, generator=gen)
    yd = torch.randint(0, 10, (1437,), generator=gen)

    def w3():
        model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(30):
            order = torch.randperm(len(Xd), generator=gen)
            for s in range(0, len(Xd), 32):
                idx = order[s:s + 32]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(Xd[idx]), yd[idx]).backward()
                opt.step()

    def w4():
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.randn(128, 784)
        y = torch.randint(0, 10, (128,))
        for _ in range(300):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    xs = torch.randn(1, 64)

    def w5():
        with torch.no_grad():
            for _ in range(1000):
                model(xs)

    # W6: the digits CNN as nnspec's examples/specs/cnn.nn writes it, 1437 images, Adam lr 0.01, batch 32, 5 epochs.
    images = torch.rand(1437, 1, 8, 8, generator=gen)
    labels = torch.randint(0, 10, (1437,), generator=gen)

    def w6():
        cnn = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(256, 10))
        opt = torch.optim.Adam(cnn.parameters(), lr=1e-2)
        for _ in range(5):
            for s in range(0, len(images), 32):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(cnn(images[s:s + 32]), labels[s:s + 32]).backward()
                opt.step()

    # W7: one-signal predict of the signal CNN.
    signal_cnn = torch.nn.Sequential(
        torch.nn.Conv1d(2, 8, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool1d(2),
        torch.nn.Conv1d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(),
        torch.nn.Linear(16, 3))
    signal = torch.randn(1, 2, 32)

    def w7():
        with torch.no_grad():
            for _ in range(1000):
                signal_cnn(signal)

    # W8: the gestures GRU (24 steps of 3, 16 units, 16 -> 4), Adam lr 0.01, batch 32, 5 epochs over as
    # many sequences as the conformance file has (or 640).
    gestures_path = os.path.join(HERE, "..", "..", "shared", "conformance", "datasets", "gestures.csv")
    sequences = sum(1 for _ in open(gestures_path)) - 1 if os.path.exists(gestures_path) else 640
    motion = torch.randn(sequences, 24, 3, generator=gen)
    gesture = torch.randint(0, 4, (sequences,), generator=gen)

    class Gru(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(3, 16, batch_first=True)
            self.fc = torch.nn.Linear(16, 4)

        def forward(self, x):
            return self.fc(self.rnn(x)[1][-1])

    def w8():
        gru = Gru()
        opt = torch.optim.Adam(gru.parameters(), lr=1e-2)
        for _ in range(5):
            for s in range(0, sequences, 32):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(gru(motion[s:s + 32]), gesture[s:s + 32]).backward()
                opt.step()

    # W9: one streaming step: the GRU cell on one time step and the head, state kept.
    cell = torch.nn.GRUCell(3, 16)
    head = torch.nn.Linear(16, 4)
    step_x, state = torch.randn(1, 3), torch.zeros(1, 16)

    def w9():
        h = state
        with torch.no_grad():
            for _ in range(1000):
                h = cell(step_x, h)
                head(h)

    rows["W8"] = median_time(w8, reps=3)
    rows["W8_rows"] = sequences
    rows["W9"] = median_time(w9) / 1000
    rows["W1"] = median_time(w1, reps=3)
    rows["W2"] = median_time(w2, reps=3)
    rows["W3"] = median_time(w3, reps=3)
    rows["W4"] = 300 * 128 / median_time(w4, reps=3)
    rows["W5"] = median_time(w5) / 1000
    rows["W6"] = median_time(w6, reps=3)
    rows["W7"] = median_time(w7) / 1000
    return rows


def main():
    numpy_only = "--numpy" in sys.argv
    ensure_venv(with_torch=not numpy_only)
    print("| workload | NumPy | PyTorch eager (2 threads) |\n|---|---|---|")
    n = numpy_workloads()
    t = {} if numpy_only else torch_workloads()
    nan = float("nan")
    print(f"| W1 XOR 1500 iterations | {n['W1'] * 1e3:.2f} ms | {t.get('W1', nan) * 1e3:.1f} ms |")
    print(f"| W2 planar 10000 iterations | {n['W2'] * 1e3:.1f} ms | {t.get('W2', nan) * 1e3:.0f} ms |")
    w3_rate = 1437 * 30 / n["W3"] / 1e6
    torch_w3_rate = 1437 * 30 / t.get("W3", nan) / 1e6
    print(f"| W3 digits 30 epochs | {n['W3'] * 1e3:.1f} ms ({w3_rate:.2f} M samples/s) "
          f"| {t.get('W3', nan) * 1e3:.0f} ms ({torch_w3_rate:.3f} M samples/s) |")
    print(f"| W4 784-256-128-10 | – | {t.get('W4', float('nan')) / 1e3:.1f} k samples/s |")
    print(f"| W5 predict | {n['W5'] * 1e6:.2f} µs | {t.get('W5', float('nan')) * 1e6:.2f} µs |")
    w6 = t.get("W6", nan)
    print(f"| W6 digits CNN 5 epochs | – | {w6 * 1e3:.0f} ms ({1437 * 5 / w6 / 1e3:.1f} k samples/s) |")
    print(f"| W7 signal CNN predict | – | {t.get('W7', nan) * 1e6:.2f} µs |")
    w8 = t.get("W8", nan)
    print(f"| W8 gestures GRU 5 epochs | – | {w8 * 1e3:.0f} ms ({t.get('W8_rows', nan) * 5 / w8 / 1e3:.1f} k samples/s) |")
    print(f"| W9 GRU streaming step | – | {t.get('W9', nan) * 1e6:.2f} µs |")


if __name__ == "__main__":
    main()
