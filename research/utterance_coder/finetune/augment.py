"""Round 5: ASR-style data augmentation for the fine-tuned encoder.

The learning curve (round 4) says more labelled rows help (+0.007 macro-F1 per doubling at the
top). DialogID is speech-recognised text; the commonest noise is homophone substitution
("比喻" for "比如"), fillers and arbitrary punctuation. Here each training row is, with
probability P per epoch, replaced by a noised copy with the same label:
  * homophones: every Chinese character, with probability 0.08, becomes another character of
    the same toneless pinyin, drawn by its frequency in train;
  * fillers: with probability 0.3 one of 嗯/啊/呃/那个/就是/然后 is inserted at a clause start;
    with probability 0.3 the fillers 呃嗯啊哈 already there are removed;
  * punctuation: with probability 0.3 every ，becomes 。 or the reverse, or the last mark is dropped;
  * deletion: every character, with probability 0.03, is deleted.
Everything else is the product's own training (yanxiu.lab.use_train.finetune_use:
the same loss, batches, schedule and seed), so P = 0 reproduces the product's train-only encoder.
The augmentation has its own random generator, so the batch order does not change with P.

Run from the repository root, one thread:
  .venv/bin/python research/utterance_coder/finetune/augment.py P [SEED] [--no-homophones]
Needs pypinyin (research only) and var/cache/utterances/trainonly_here_stack.npy (the train-only
stack on dev, seed 0). Dev only; the test split is never read.
"""

import collections
import csv
import io
import re
import sys
import time

import numpy as np
import torch
from pypinyin import Style, lazy_pinyin
from sklearn.metrics import f1_score

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

sys.path.insert(0, "platform")
from yanxiu.lab.use_train import (  # noqa: E402
    FinetuneConfig,
    _epoch_batches,
    _module,
    _padded,
    token_ids,
)
from yanxiu.practice.use_finetune import FineTunedUse  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")
FILLERS = ["嗯，", "啊，", "呃，", "那个，", "就是，", "然后"]


def read(n):
    rows = list(csv.DictReader(io.StringIO((DATA / f"{n}.csv").read_text(encoding="utf-8"))))
    return [r["text"].strip() for r in rows], np.array([int(r["label"]) for r in rows])


def homophone_table(texts, min_count=5):
    """char -> (alternative chars, probabilities), same toneless pinyin, by train frequency."""
    counts = collections.Counter(c for t in texts for c in t if CJK.match(c))
    groups = collections.defaultdict(list)
    for c, n in counts.items():
        if n >= min_count:
            groups[lazy_pinyin(c, style=Style.NORMAL)[0]].append(c)
    table = {}
    for chars in groups.values():
        for c in chars:
            alts = [a for a in chars if a != c]
            if alts:
                w = np.array([counts[a] for a in alts], dtype=float)
                table[c] = (alts, w / w.sum())
    return table


def noised(text, table, rng, homophones=True):
    out = []
    for c in text:
        if rng.random() < 0.03:
            continue
        if homophones and c in table and rng.random() < 0.08:
            alts, p = table[c]
            c = alts[rng.choice(len(alts), p=p)]
        out.append(c)
    t = "".join(out)
    if rng.random() < 0.3:
        t = re.sub("[呃嗯啊哈]", "", t)
    if rng.random() < 0.3:
        starts = [0] + [m.end() for m in re.finditer("[，,。？！]", t) if m.end() < len(t)]
        i = starts[rng.integers(len(starts))]
        t = t[:i] + FILLERS[rng.integers(len(FILLERS))] + t[i:]
    if rng.random() < 0.3:
        k = rng.integers(3)
        t = (
            t.replace("，", "。")
            if k == 0
            else t.replace("。", "，")
            if k == 1
            else t.rstrip("，。？！,.?!")
        )
    return t or text


def main():
    homophones = "--no-homophones" not in sys.argv
    args = [a for a in sys.argv[1:] if a != "--no-homophones"]
    p_aug = float(args[0])
    seed = int(args[1]) if len(args) > 1 else 0
    tr, y = read("train")
    dv, ydv = read("dev")
    cfg = FinetuneConfig(seed=seed)
    table = homophone_table(tr)
    aug_rng = np.random.default_rng(1000 + seed)
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    ids = token_ids(tr)
    lengths = np.array([len(s) for s in ids])
    model = _module(9, cfg.dropout)
    opt = torch.optim.AdamW(
        [
            {"params": list(model.p.parameters()), "lr": cfg.lr},
            {"params": [*model.head.parameters(), model.scale], "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )
    per_epoch = int(np.ceil(len(ids) / cfg.batch_size))
    steps = cfg.epochs * per_epoch
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps)
    )
    counts = np.bincount(y, minlength=9)
    weight = torch.tensor((len(y) / (9 * counts)) ** cfg.class_weight_power, dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
    target = torch.from_numpy(y)
    t0 = time.time()
    model.train()
    n_aug = 0
    for _ in range(cfg.epochs):
        for rows in _epoch_batches(lengths, cfg.batch_size, rng):
            pick = aug_rng.random(len(rows)) < p_aug
            if pick.any():
                n_aug += int(pick.sum())
                local = [ids[i] for i in rows]
                new = token_ids([noised(tr[i], table, aug_rng, homophones) for i in rows[pick]])
                for j, s in zip(np.flatnonzero(pick), new, strict=False):
                    local[j] = s
                batch, lens = _padded(local, np.arange(len(rows)))
            else:
                batch, lens = _padded(ids, rows)
            loss = loss_fn(model(batch, lens), target[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    arrays = model.export()
    F = FineTunedUse(arrays).predict_proba(dv)
    name = f"var/cache/utterances/augment_{p_aug}_s{seed}{'' if homophones else '_nohomo'}"
    np.save(f"{name}_ft.npy", F)
    np.savez(f"{name}_weights.npz", **arrays)  # for weight averaging across seeds (soup.py)
    S = np.load("var/cache/utterances/trainonly_here_stack.npy")

    def m(P):
        return round(f1_score(ydv, P.argmax(1), average="macro"), 4)

    print(
        f"P {p_aug} seed {seed}{'' if homophones else ' without homophones'}: {time.time() - t0:.0f}s, {n_aug} noised rows; "
        f"encoder {m(F)} blend {m(0.5 * S + 0.5 * F)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
