"""Prototype: test-time views only for the least confident test images, by share. Usage:
python benchmarks/prototypes/tta_share.py RUN_DIR... (benchmarks/RESULTS.md)"""
import sys, torch, time, torch.nn.functional as F
from pathlib import Path
from cifarlab.train.saved_run import reload_learner, load_prepared
from cifarlab.data.batches import chunks
torch.set_num_threads(2)
cache = {}
for run in sys.argv[1:]:
    model, cfg, record, learner, _ = reload_learner(Path(run), "cpu", 2)
    if "p" not in cache:
        cache["p"], _ = load_prepared(model, cfg, record["data_source"], False)
    p = cache["p"]; y = torch.from_numpy(p.test.y)
    learner.model.eval()
    with torch.inference_mode():
        t = time.perf_counter(); full = learner.logits(p.test.x); t_full = time.perf_counter() - t
        t = time.perf_counter()
        with learner._autocast():
            plain = torch.cat([learner.model(learner._to_device(p.test.x[s])).float() for s in chunks(len(y), 250)])
        t_plain = time.perf_counter() - t
    acc = lambda l: (l.argmax(1) == y).float().mean().item() * 100
    conf = F.softmax(plain, 1).max(1).values
    out = [f"{run}: full6={acc(full):.2f} ({t_full:.1f}s) plain={acc(plain):.2f} ({t_plain:.1f}s)"]
    for q in (0.1, 0.2, 0.3, 0.5):
        k = int(q * len(y)); idx = torch.topk(conf, k, largest=False).indices
        mixed = plain.clone(); mixed[idx] = full[idx]
        out.append(f"q{q}={acc(mixed):.2f}")
    print(" ".join(out), flush=True)
