"""Reproducible DialogID utterance-coder experiments (train -> dev).

Run (2 shared cores: keep BLAS at one thread, be nice):
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        nice -n 10 .venv/bin/python experiments.py [--quick] [--timing-only]

Prints one row per configuration (dev accuracy, macro-F1, per-class F1), writes
results.json and results.md next to this file, saves the recommended model to
/tmp/uttcoder_cache/coder.pkl and times it on 600 dev utterances (one core).
USE embeddings are cached under /tmp/uttcoder_cache/use_{train,dev}.npy.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC

from yanxiu.lab.coder_train import DEFAULT_DATA_DIR as DATA  # beside the project

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from coder import CoderConfig, UtteranceCoder, default_embedder, mark  # noqa: E402

CACHE = "/tmp/uttcoder_cache"
SEED = 0
RESULTS: list[dict] = []


def load(split: str) -> tuple[list[str], np.ndarray]:
    with open(os.path.join(DATA, f"{split}.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def cached_use(split: str, texts: list[str]) -> np.ndarray:
    path = os.path.join(CACHE, f"use_{split}.npy")
    if os.path.exists(path):
        E = np.load(path)
        if len(E) == len(texts):
            return E
    os.makedirs(CACHE, exist_ok=True)
    E = default_embedder()(texts)
    np.save(path, E)
    return E


def report(name: str, y: np.ndarray, pred: np.ndarray, seconds: float, note: str = "") -> None:
    per = f1_score(y, pred, average=None, labels=list(range(9)))
    row = dict(
        name=name,
        acc=accuracy_score(y, pred),
        macro_f1=f1_score(y, pred, average="macro"),
        per_class=[round(float(v), 3) for v in per],
        train_s=round(seconds, 1),
        note=note,
    )
    RESULTS.append(row)
    print(
        f"{name:58s} acc={row['acc']:.4f} mF1={row['macro_f1']:.4f} "
        f"{' '.join(f'{v:.3f}' for v in per)}  ({seconds:.0f}s)",
        flush=True,
    )


def seg(texts: list[str]) -> list[list[str]]:
    import jieba

    jieba.setLogLevel(60)
    return [jieba.lcut(t) for t in texts]


_FILLERS = re.compile(r"[呃嗯额唔]+")


def normalise(s: str) -> str:
    """ASR-noise normalisation tried in section (5): fillers, punctuation, digits, latin, repeats."""
    s = _FILLERS.sub("", s)
    s = re.sub(r"[，,、；;]", "，", s)
    s = re.sub(r"[？?]", "？", s)
    s = re.sub(r"[。．.！!]", "。", s)
    s = re.sub(r"[0-9０-９]+", "0", s)
    s = re.sub(r"[A-Za-z]+", "a", s)
    s = re.sub(r"(.)\1{2,}", r"\1\1", s)
    return s


def linear_experiments(Xtr, ytr, Xdv, ydv, Utr, Udv, quick: bool) -> None:
    def run(name, vec_tr, vec_dv, model, note=""):
        t = time.time()
        model.fit(vec_tr, ytr)
        report(name, ydv, model.predict(vec_dv), time.time() - t, note)

    # (1) baseline exactly: char 1-3 TF-IDF (defaults) + LinearSVC (defaults)
    v = TfidfVectorizer(analyzer="char", ngram_range=(1, 3))
    run(
        "1 baseline char1-3 tfidf + LinearSVC(C=1)",
        v.fit_transform(Xtr),
        v.transform(Xdv),
        LinearSVC(),
    )

    # (2) richer lexical
    for ng, C in [((1, 3), 0.3), ((1, 4), 0.5), ((1, 5), 1.0)]:
        v = TfidfVectorizer(analyzer="char", ngram_range=ng, sublinear_tf=True)
        A, B = v.fit_transform(Xtr), v.transform(Xdv)
        run(
            f"2 char{ng[0]}-{ng[1]} sublinear SVC C={C} balanced",
            A,
            B,
            LinearSVC(C=C, class_weight="balanced"),
        )
    v = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    A, B = v.fit_transform(Xtr), v.transform(Xdv)
    run("2 char1-4 sublinear SVC C=1 (no class weight)", A, B, LinearSVC(C=1.0))
    vb = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    Ab, Bb = vb.fit_transform([mark(t) for t in Xtr]), vb.transform([mark(t) for t in Xdv])
    run(
        "2 char1-4 sublinear +^$ marks SVC C=0.5 balanced",
        Ab,
        Bb,
        LinearSVC(C=0.5, class_weight="balanced"),
    )
    run(
        "2 char1-4 +^$ SGD modified_huber a=2e-5 balanced",
        Ab,
        Bb,
        SGDClassifier(
            loss="modified_huber",
            alpha=2e-5,
            class_weight="balanced",
            random_state=SEED,
            max_iter=50,
        ),
    )
    if not quick:
        run(
            "2 char1-4 +^$ LogisticRegression C=30 balanced",
            Ab,
            Bb,
            LogisticRegression(C=30, class_weight="balanced", max_iter=2000),
        )
    Wtr, Wdv = seg(Xtr), seg(Xdv)
    vw = TfidfVectorizer(
        tokenizer=lambda x: x,
        preprocessor=lambda x: x,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        sublinear_tf=True,
    )
    Aw, Bw = vw.fit_transform(Wtr), vw.transform(Wdv)
    run(
        "2 jieba word1-2 sublinear SVC C=0.5 balanced",
        Aw,
        Bw,
        LinearSVC(C=0.5, class_weight="balanced"),
    )
    run(
        "2 char1-4(^$) + word1-2 hstack SVC C=0.5 balanced",
        sp.hstack([Ab, Aw]).tocsr(),
        sp.hstack([Bb, Bw]).tocsr(),
        LinearSVC(C=0.5, class_weight="balanced"),
    )

    # (3) USE-m3 alone and concatenated with TF-IDF
    run("3 USE-m3 512d alone LinearSVC C=1", Utr, Udv, LinearSVC(C=1.0))
    for w in (0.5, 1.0):
        run(
            f"3 char1-4 + USE*{w} hstack SVC C=1 balanced",
            sp.hstack([A, sp.csr_matrix(Utr * w)]).tocsr(),
            sp.hstack([B, sp.csr_matrix(Udv * w)]).tocsr(),
            LinearSVC(C=1.0, class_weight="balanced"),
        )

    # (5) ASR-noise normalisation
    vn = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True)
    An = vn.fit_transform([mark(normalise(t)) for t in Xtr])
    Bn = vn.transform([mark(normalise(t)) for t in Xdv])
    run(
        "5 normalised(fillers,punct,digits,repeats) char1-4 SVC C=0.5 bal",
        An,
        Bn,
        LinearSVC(C=0.5, class_weight="balanced"),
    )

    # (4) simple soft vote of char and word SVC decision values
    t = time.time()
    mc = LinearSVC(C=0.5, class_weight="balanced").fit(Ab, ytr)
    mw = LinearSVC(C=0.5, class_weight="balanced").fit(Aw, ytr)
    report(
        "4 soft vote: char1-4(^$) SVC + word1-2 SVC (sum of scores)",
        ydv,
        (mc.decision_function(Bb) + mw.decision_function(Bw)).argmax(1),
        time.time() - t,
    )


def stacking_experiments(Xtr, ytr, Xdv, ydv, Utr, Udv) -> UtteranceCoder:
    variants = [
        (
            "4 stack LGBM: char+word SVC OOF scores",
            dict(use_clauses=False, use_embedding=False, use_surface=False, min_df=1),
        ),
        (
            "4 stack LGBM: char+word SVC + surface feats",
            dict(use_clauses=False, use_embedding=False, min_df=1),
        ),
        ("4 stack LGBM: char+word+clause SVC + surface", dict(use_embedding=False, min_df=1)),
        ("4 stack LGBM: char+word+clause + surface + USE-PCA64 (min_df=1)", dict(min_df=1)),
        ("4 stack LGBM: char+word+clause + surface + USE-PCA64, min_df=2 [REC]", dict(min_df=2)),
    ]
    best = None
    for name, kw in variants:
        t = time.time()
        coder = UtteranceCoder(CoderConfig(seed=SEED, **kw))
        coder.fit(Xtr, ytr, embeddings=Utr)
        report(name, ydv, coder.predict(Xdv, embeddings=Udv), time.time() - t)
        best = coder
    return best


def seed_experiments(Xtr, ytr, Xdv, ydv, Utr, Udv) -> None:
    """Robustness: refit with other fold splits / LightGBM seeds."""
    for kw, tag in [
        (dict(min_df=2), "REC"),
        (dict(min_df=2, use_embedding=False), "REC without USE"),
    ]:
        for seed in (1, 2, 3):
            t = time.time()
            coder = UtteranceCoder(CoderConfig(seed=seed, **kw)).fit(Xtr, ytr, embeddings=Utr)
            report(
                f"seed check: {tag}, seed={seed}",
                ydv,
                coder.predict(Xdv, embeddings=Udv),
                time.time() - t,
            )


def time_inference(path: str, Xdv: list[str]) -> dict:
    """Wall time to code 600 utterances on one core: cold (incl. model/jieba/USE load) and warm."""
    texts = Xdv[:600]
    t0 = time.perf_counter()
    coder = UtteranceCoder.load(path)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    coder.predict(texts)  # first call: jieba dictionary + USE weights are loaded lazily
    t_first = time.perf_counter() - t0
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        coder.predict(texts)
        warm.append(time.perf_counter() - t0)
    # component split (warm)
    t0 = time.perf_counter()
    coder.embedder(texts)
    t_use = time.perf_counter() - t0
    t0 = time.perf_counter()
    coder._words(texts)
    t_jieba = time.perf_counter() - t0
    out = dict(
        load_s=round(t_load, 3),
        first_call_s=round(t_first, 3),
        warm_s=round(min(warm), 3),
        warm_use_s=round(t_use, 3),
        warm_jieba_s=round(t_jieba, 3),
        model_bytes=os.path.getsize(path),
    )
    print("timing 600 utterances, 1 core:", out, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the slow LogisticRegression row")
    ap.add_argument("--timing-only", action="store_true")
    ap.add_argument(
        "--seeds", action="store_true", help="also refit REC and REC-without-USE with seeds 1-3"
    )
    args = ap.parse_args()
    np.random.seed(SEED)
    Xtr, ytr = load("train")
    Xdv, ydv = load("dev")
    model_path = os.path.join(CACHE, "coder.pkl")
    if not args.timing_only:
        Utr, Udv = cached_use("train", Xtr), cached_use("dev", Xdv)
        linear_experiments(Xtr, ytr, Xdv, ydv, Utr, Udv, args.quick)
        coder = stacking_experiments(Xtr, ytr, Xdv, ydv, Utr, Udv)
        if args.seeds:
            seed_experiments(Xtr, ytr, Xdv, ydv, Utr, Udv)
        # sanity: the stored model must give the same dev predictions with live USE embeddings
        coder.save(model_path)
        live = UtteranceCoder.load(model_path).predict(Xdv)
        agree = float(np.mean(live == coder.predict(Xdv, embeddings=Udv)))
        print(
            "live-embedding dev macro-F1:",
            round(f1_score(ydv, live, average="macro"), 4),
            "agreement with cached-embedding run:",
            round(agree, 4),
        )
    timing = time_inference(model_path, Xdv)
    if not args.timing_only:
        with open(os.path.join(HERE, "results.json"), "w") as f:
            json.dump(dict(results=RESULTS, timing=timing), f, ensure_ascii=False, indent=1)
        lines = [
            "| configuration | dev acc | dev macro-F1 | F1 per class 0..8 | fit s |",
            "|---|---|---|---|---|",
        ]
        for r in RESULTS:
            lines.append(
                f"| {r['name']} | {r['acc']:.4f} | {r['macro_f1']:.4f} | "
                f"{' / '.join(f'{v:.3f}' for v in r['per_class'])} | {r['train_s']} |"
            )
        with open(os.path.join(HERE, "results.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
