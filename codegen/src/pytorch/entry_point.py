def read_csv(path, targets=None):
    """Rows of a CSV file as nnspec reads them: a header, numeric cells, the
    target columns named (default: the last column), the others features.
    A file that does not fit raises ValueError naming the line and column."""
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ValueError(f"{path}: the file is empty; nnspec reads a header line, then one row per sample")
    header = [name.strip() for name in rows[0]]
    targets = targets or [header[-1]]
    missing = [name for name in targets if name not in header]
    if missing:
        raise ValueError(f"{path}: no column {missing[0]!r}; the columns are {', '.join(header)}")
    target_index = [header.index(name) for name in targets]
    feature_index = [i for i in range(len(header)) if i not in target_index]
    if not feature_index:
        raise ValueError(f"{path}: every column is a target; the features are the columns not named by --target")
    values = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ValueError(f"{path}:{line}: {len(row)} cells where the header has {len(header)} columns")
        parsed = []
        for column, cell in enumerate(row, start=1):
            try:
                parsed.append(float(cell))
            except ValueError:
                raise ValueError(f"{path}:{line}:{column}: {cell.strip()!r} is not a number") from None
        values.append(parsed)
    if not values:
        raise ValueError(f"{path}: no rows after the header")
    x = torch.tensor([[row[i] for i in feature_index] for row in values], dtype=torch.float32)
    y = torch.tensor([[row[i] for i in target_index] for row in values], dtype=torch.float32)
    return x, y


def train(network, x, y, epochs=None, weights=None, log=print):
    """Trains `network` (a class of NETWORKS) on rows `x`, `y` with the spec's
    settings; under `torchrun` with DistributedDataParallel, each process
    takes its share of every batch. Returns the trained module."""
    import os
    import torch.distributed as dist
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    world = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = world > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}") if torch.cuda.is_available() else torch.device("cpu")
    settings = network.TRAIN
    torch.manual_seed(settings["seed"])
    model = network()
    if weights:
        load_nnspec(model, weights)
    adapt(model, x)
    model.to(device)
    wrapped = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    optimizer = model.make_optimizer()
    scheduler = model.make_scheduler(optimizer)
    data = TensorDataset(x, y)
    batch = settings["batch"] or len(data)
    sampler = DistributedSampler(data, shuffle=settings["shuffle"], seed=settings["seed"], drop_last=False) if distributed else None
    loader = DataLoader(data, batch_size=max(1, batch // world), sampler=sampler,
                        shuffle=settings["shuffle"] and sampler is None,
                        generator=torch.Generator().manual_seed(settings["seed"]))
    for epoch in range(epochs or settings["epochs"]):
        if sampler is not None:
            sampler.set_epoch(epoch)
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            output, logits = wrapped(xb, logits=True)
            loss = model.loss_of(output, logits, yb) + model.penalty()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the loss is not finite in epoch {epoch + 1}")
            loss.backward()
            model.clip_gradients()
            optimizer.step()
            total, count = total + loss.item() * len(xb), count + len(xb)
        if scheduler is not None:
            scheduler.step()
        if rank == 0 and log is not None:
            log(f"epoch {epoch + 1}: loss {total / max(count, 1):.6f}")
    return model.cpu()


def main(argv=None):
    """`python model.py --data train.csv --out weights.safetensors [--network NAME] [--target COLUMN]…`,
    or the same after `torchrun --nproc_per_node N`."""
    import argparse
    import os
    import torch.distributed as dist

    parser = argparse.ArgumentParser(description="Train an nnspec network with PyTorch (DistributedDataParallel under torchrun).")
    parser.add_argument("--network", help="the network to train (default: the only one)")
    parser.add_argument("--data", required=True, help="CSV with a header, as `nnspec train` reads it")
    parser.add_argument("--target", action="append",
                        help="target columns, as for `nnspec train`: repeat the flag or separate names with commas (default: the last column)")
    parser.add_argument("--out", required=True, help="the nnspec weight file (safetensors) to write")
    parser.add_argument("--epochs", type=int, help="override the spec's epochs")
    parser.add_argument("--weights", help="start from an nnspec weight file")
    args = parser.parse_args(argv)
    if args.network is None and len(NETWORKS) != 1:
        parser.error(f"the spec has several networks ({', '.join(NETWORKS)}): name one with --network")
    name = args.network or next(iter(NETWORKS))
    if name not in NETWORKS:
        parser.error(f"no network {name!r}; the spec has {', '.join(NETWORKS)}")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: at least 1")
    targets = [t.strip() for given in args.target or [] for t in given.split(",") if t.strip()] or None
    try:
        x, y = read_csv(args.data, targets)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    if args.weights is not None:
        try:
            load_nnspec(NETWORKS[name](), args.weights)
        except Exception as error:  # a weight file that does not load is a usage error, not a traceback
            parser.error(f"--weights {args.weights}: {error}")
    model = train(NETWORKS[name], x, y, epochs=args.epochs, weights=args.weights)
    if not dist.is_initialized() or dist.get_rank() == 0:
        temporary = args.out + f".tmp{os.getpid()}"
        save_nnspec(model, temporary, {"trained_with": f"PyTorch {torch.__version__}"})
        os.replace(temporary, args.out)
        print(f"weights written to {args.out}")
    if dist.is_initialized():
        # Every rank leaves together: a rank that tears gloo down while
        # another still writes can abort the job at exit.
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
