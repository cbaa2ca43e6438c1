"""Oracle for lib/train/optim.ts: torch.optim.AdamW and torch.optim.SGD (momentum, L2 weight decay) on fixed weights
and gradients, 5 steps at given learning rates. Weight decay applies to the rank-2 weight only (a param group without
decay holds the bias), as lib/train/optim.ts does. Writes test/fixtures/train/optim-oracle.json.
Run with Debian's python3 (torch): /usr/bin/python3 scripts/make-optim-oracle.py"""
import json
import torch

torch.manual_seed(0)
w0 = torch.randn(3, 4, dtype=torch.float32)
b0 = torch.randn(4, dtype=torch.float32)
steps = 5
lrs = [1e-3, 5e-3, 1e-2, 2e-2, 1e-3]
grads_w = [torch.randn(3, 4, dtype=torch.float32) for _ in range(steps)]
grads_b = [torch.randn(4, dtype=torch.float32) for _ in range(steps)]


def run(make):
    w = torch.nn.Parameter(w0.clone())
    b = torch.nn.Parameter(b0.clone())
    opt = make(w, b)
    for k in range(steps):
        for g in opt.param_groups:
            g['lr'] = lrs[k]
        w.grad = grads_w[k].clone()
        b.grad = grads_b[k].clone()
        opt.step()
    return w.detach().flatten().tolist(), b.detach().flatten().tolist()


cases = {}
wd = 0.05
cases['adam'] = run(lambda w, b: torch.optim.AdamW(
    [{'params': [w], 'weight_decay': wd}, {'params': [b], 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.999), eps=1e-8))
cases['sgd'] = run(lambda w, b: torch.optim.SGD(
    [{'params': [w], 'weight_decay': wd}, {'params': [b], 'weight_decay': 0.0}], lr=1e-3, momentum=0.9))
out = {
    'torch': torch.__version__,
    'weightDecay': wd,
    'lrs': lrs,
    'w0': w0.flatten().tolist(), 'b0': b0.flatten().tolist(),
    'gradsW': [g.flatten().tolist() for g in grads_w],
    'gradsB': [g.flatten().tolist() for g in grads_b],
    'expected': {k: {'w': v[0], 'b': v[1]} for k, v in cases.items()},
}
with open('test/fixtures/train/optim-oracle.json', 'w') as f:
    json.dump(out, f)
print('ok', torch.__version__)
