"""Lists the ONNX project's backend test models that were converted from
PyTorch (`onnx/backend/test/data/pytorch-converted` and `pytorch-operator`,
shipped in the `onnx` package) and writes, per model with one input and one
output, its input and expected output as CSV rows (one sample per row,
flattened; the first axis is the batch) for `nnspec predict`.

Usage: backend.py OUT_DIR. Writes OUT_DIR/cases.json:
[{"name", "model", "input_csv", "output_csv", "input_shape", "output_shape"}…];
a model with another number of inputs or outputs is listed with "inputs"/"outputs" counts only.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def rows(array):
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(1, -1)
    return array.reshape(array.shape[0], -1)


def write_csv(path, array, prefix):
    flat = rows(array)
    with open(path, "w") as f:
        f.write(",".join(f"{prefix}{i}" for i in range(flat.shape[1])) + "\n")
        for row in flat:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def main(out):
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    os.makedirs(out, exist_ok=True)
    cases = []
    for group in ["pytorch-converted", "pytorch-operator"]:
        for name in sorted(os.listdir(os.path.join(root, group))):
            directory = os.path.join(root, group, name)
            model = os.path.join(directory, "model.onnx")
            data = os.path.join(directory, "test_data_set_0")
            if not os.path.isfile(model) or not os.path.isdir(data):
                continue
            inputs = sorted(f for f in os.listdir(data) if f.startswith("input_"))
            outputs = sorted(f for f in os.listdir(data) if f.startswith("output_"))
            case = {"name": f"{group}/{name}", "model": model}
            if len(inputs) != 1 or len(outputs) != 1:
                case.update(inputs=len(inputs), outputs=len(outputs))
                cases.append(case)
                continue
            x = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, inputs[0])))
            y = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, outputs[0])))
            stem = name.replace("/", "_")
            case.update(
                input_csv=os.path.join(out, f"{stem}.input.csv"),
                output_csv=os.path.join(out, f"{stem}.output.csv"),
                input_shape=list(x.shape),
                output_shape=list(y.shape),
                inputs=1,
                outputs=1,
            )
            if x.dtype.kind == "f" and y.dtype.kind == "f":
                write_csv(case["input_csv"], x, "x")
                write_csv(case["output_csv"], y, "y")
            else:
                case["non_float"] = True
            cases.append(case)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
