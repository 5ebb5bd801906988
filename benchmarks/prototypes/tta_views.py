"""Prototype: which test-time views help, on saved runs (logits of every shifted and mirrored
view). Usage: python benchmarks/prototypes/tta_views.py RUN_DIR... (benchmarks/RESULTS.md)"""
import itertools
import sys

import torch
import torch.nn.functional as F

from cifarlab.data.batches import chunks
from saved_runs import saved_runs

for run, learner, p in saved_runs(sys.argv[1:]):
    y = torch.from_numpy(p.test.y)
    views = {}
    with torch.inference_mode(), learner._autocast():
        for part in chunks(len(y), 250):
            x = learner._to_device(p.test.x[part])
            pad = F.pad(x, (2,2,2,2), mode="reflect")
            for dx, dy in itertools.product(range(-2,3), repeat=2):
                v = pad[..., 2+dy:34+dy, 2+dx:34+dx].contiguous(memory_format=learner.memory_format)
                for flip in (0, 1):
                    out = learner.model(v.flip(-1) if flip else v).float()
                    views.setdefault((dx, dy, flip), []).append(out)
    views = {k: torch.cat(v) for k, v in views.items()}
    m = lambda dx, dy: 0.5 * (views[(dx, dy, 0)] + views[(dx, dy, 1)])
    acc = lambda l: (l.argmax(1) == y).float().mean().item() * 100
    combos = {
      "plain": views[(0,0,0)],
      "mirror": m(0,0),
      "level2 (6)": 0.5*m(0,0) + 0.25*(m(-1,-1)+m(1,1)),
      "level2 eq (6)": (m(0,0)+m(-1,-1)+m(1,1))/3,
      "diag4 (10)": 0.5*m(0,0) + 0.125*(m(-1,-1)+m(1,1)+m(-1,1)+m(1,-1)),
      "diag4 eq (10)": (m(0,0)+m(-1,-1)+m(1,1)+m(-1,1)+m(1,-1))/5,
      "axis4 (10)": 0.5*m(0,0) + 0.125*(m(-1,0)+m(1,0)+m(0,-1)+m(0,1)),
      "3x3 (18)": sum(m(a,b) for a in (-1,0,1) for b in (-1,0,1))/9,
      "3x3 c.5 (18)": 0.5*m(0,0)+0.5*sum(m(a,b) for a in (-1,0,1) for b in (-1,0,1) if (a,b)!=(0,0))/8,
      "5x5 (50)": sum(m(a,b) for a in range(-2,3) for b in range(-2,3))/25,
      "lvl2 x2 (10)": 0.5*m(0,0) + 0.125*(m(-1,-1)+m(1,1)+m(-2,-2)+m(2,2)),
      "lvl2 anti (6)": 0.5*m(0,0) + 0.25*(m(-1,1)+m(1,-1)),
    }
    print(run, " ".join(f"{k}={acc(v):.2f}" for k, v in combos.items()), flush=True)
