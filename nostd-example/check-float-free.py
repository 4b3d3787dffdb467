#!/usr/bin/env python3
"""Proves the integer path of the no_std example uses no floating point.

Usage: check-float-free.py LIB.a

Disassembles the release staticlib (objdump -dr), starts from every function
whose name contains `predict_q` (the C entry point `nnspec_planar_predict_q`
and the generated `PlanarInt8::predict_q`), follows every call they make
inside the library, and fails if any function reached holds an x87, SSE or
AVX floating-point instruction, or calls a function outside the library other
than the memory routines. As a control, the f32 entry point
`nnspec_planar_predict` must be found to use floating point.
"""
import re
import subprocess
import sys

FLOAT = re.compile(
    r"^v?(?:(?:add|sub|mul|div|min|max|sqrt|rcp|rsqrt|round|cmp|and|andn|or|xor|hadd|hsub|blend|shuf|unpckh|unpckl|movmsk)(?:ss|sd|ps|pd)"
    r"|cvt\w+|u?comis[sd]|f(?:ld|st|add|sub|mul|div|com|ucom|chs|abs|sqrt|xch|init|cmov)\w*|fmadd\w*|fmsub\w*|fnmadd\w*)$"
)
ALLOWED_EXTERNAL = {"memcpy", "memset", "memmove", "memcmp", "bcmp"}


def functions(dump):
    current, table = None, {}
    for line in dump.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            current = header.group(1)
            table.setdefault(current, {"mnemonics": [], "calls": set()})
            continue
        if current is None:
            continue
        relocation = re.search(r"R_X86_64_\w+\s+([^\s+-]+)", line)
        if relocation:
            table[current]["calls"].add(relocation.group(1))
            continue
        instruction = re.match(r"^\s+[0-9a-f]+:\s+([a-z][a-z0-9]*)", line)
        if instruction:
            table[current]["mnemonics"].append(instruction.group(1))
    return table


def reach(table, roots):
    seen, stack, external = set(), list(roots), set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for callee in table[name]["calls"]:
            if callee in table:
                stack.append(callee)
            elif not callee.startswith(".") and callee not in ALLOWED_EXTERNAL:
                external.add(callee)
    return seen, external


def float_instructions(table, names):
    return sorted({(n, m) for n in names for m in table[n]["mnemonics"] if FLOAT.match(m)})


def main():
    dump = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", sys.argv[1]], check=True, capture_output=True, text=True).stdout
    table = functions(dump)
    roots = [n for n in table if "predict_q" in n]
    if not roots:
        sys.exit("no predict_q function in the library")
    reached, external = reach(table, roots)
    found = float_instructions(table, reached)
    control, _ = reach(table, [n for n in table if n == "nnspec_planar_predict"])
    if not float_instructions(table, control):
        sys.exit("the control failed: no floating point found in the f32 entry point, so the check cannot see any")
    if found or external:
        for name, mnemonic in found:
            print(f"floating point: {mnemonic} in {name}")
        for name in sorted(external):
            print(f"call outside the library: {name}")
        sys.exit(1)
    print(f"integer only: {len(reached)} functions reached from {len(roots)} predict_q entry points, "
          f"{sum(len(table[n]['mnemonics']) for n in reached)} instructions, none floating-point")


if __name__ == "__main__":
    main()
