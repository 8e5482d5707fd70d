# Round 5: the stack's char 1-4 SVM alone, fitted on train and on train + 1 or 2 noised copies
# (augment.noised, homophones on), scored on dev. Usage (from the repository root):
#   .venv/bin/python research/utterance_coder/finetune/checks/svm_augment.py
import sys

import numpy as np

sys.path.insert(0, "research/utterance_coder/finetune")
from augment import homophone_table, noised, read
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.svm import LinearSVC

tr, y = read("train")
dv, ydv = read("dev")
table = homophone_table(tr)


def run(X, Y, name):
    v = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True, min_df=2)
    A = v.fit_transform(["^" + t + "$" for t in X])
    m = LinearSVC(C=0.5, class_weight="balanced", random_state=0).fit(A, Y)
    p = m.predict(v.transform(["^" + t + "$" for t in dv]))
    print(name, round(f1_score(ydv, p, average="macro"), 4), flush=True)


run(tr, y, "plain")
for k in (1, 2):
    rng = np.random.default_rng(k)
    X = list(tr)
    Y = list(y)
    for _ in range(k):
        X += [noised(t, table, rng) for t in tr]
        Y += list(y)
    run(X, np.array(Y), f"train + {k} noised copies")
