"""scikit-learn baselines on many data sets and random splits, for `bench/triage -datasets`.

Data sets: the three files of ../shared/data/bugs (their fields as in baseline.py) and one
per project of apache_jira_bugs.csv with at least 1,000 rows (Priority, Component, Assignee).
Each is split 80/20 on seeds 1..5 exactly as mlpipeline.Train splits it: the held-out rows
are the first ceil(0.2 n) of numpy's RandomState(seed).permutation(n) over ALL n rows of the
data set, and a field's train and test rows are those of them that have a value for it (on a
field without empty values this is train_test_split(test_size=0.2, random_state=seed)).

Baselines, fitted on the training rows only: TF-IDF word 1-2 grams, sublinear tf, min_df 2;
LinearSVC(C=1) and LogisticRegression(max_iter=1000), the latter only up to 100 classes as in
BASELINES.md. Top-3 of LinearSVC ranks its decision function; it has no probabilities, so no
ECE. One line per data set, field and seed.

Run with Debian's scikit-learn (python3-sklearn, python3-pandas), which installs for
/usr/bin/python3, not the pyenv python3 that may come first in PATH:

    /usr/bin/python3 bench/triage/baselines_by_dataset.py [DATA_DIR] [Summary|Summary+Description] \
        > bench/triage/datasets.tsv
"""
import math, os, sys, time, warnings
import numpy as np, pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC

warnings.filterwarnings('ignore')
DIR = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/bugs'
TEXT = sys.argv[2] if len(sys.argv) > 2 else 'Summary'
SEEDS = [1, 2, 3, 4, 5]
MIN_PROJECT_ROWS = 1000
LR_MAX_CLASSES = 100
FILES = {
    'gitbugs_hadoop.csv': ['Priority', 'Resolution', 'Status'],
    'gitbugs_seamonkey.csv': ['Status', 'Resolution'],
    'apache_jira_bugs.csv': ['Priority', 'Component', 'Assignee'],
}


def ece(conf, correct, bins=10):
    conf, correct = np.asarray(conf), np.asarray(correct, dtype=float)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    return sum(abs(conf[idx == b].mean() - correct[idx == b].mean()) * (idx == b).mean()
               for b in range(bins) if (idx == b).any())


def top3(classes, scores, yte):
    order = np.argsort(-scores, axis=1)[:, :3]
    return float(np.mean([y in classes[o] for y, o in zip(yte, order)]))


def datasets():
    for name, fields in FILES.items():
        df = pd.read_csv(os.path.join(DIR, name), dtype=str, keep_default_na=False)
        yield name, df, fields
        if 'Project' in df.columns:
            counts = df['Project'].value_counts()
            for project in sorted(counts[counts >= MIN_PROJECT_ROWS].index):
                yield f'{name}:{project}', df[df['Project'] == project].reset_index(drop=True), fields


print('dataset\tfield\ttext\tseed\ttrain\ttest\tclasses\tsvc_acc\tsvc_f1\tsvc_top3\tsvc_fit_s'
      '\tlr_acc\tlr_f1\tlr_top3\tlr_ece\tlr_fit_s')
for name, df, fields in datasets():
    n = len(df)
    X = df[TEXT.split('+')].agg(' '.join, axis=1).values
    for seed in SEEDS:
        held = np.zeros(n, dtype=bool)
        held[np.random.RandomState(seed).permutation(n)[:math.ceil(0.2 * n)]] = True
        for field in fields:
            y = df[field].str.strip().values
            tr, te = (~held) & (y != ''), held & (y != '')
            if len(set(y[tr])) < 2 or te.sum() == 0:
                continue
            vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
            A, B = vec.fit_transform(X[tr]), vec.transform(X[te])
            ytr, yte = y[tr], y[te]
            t = time.time(); svc = LinearSVC(C=1.0).fit(A, ytr); svc_s = time.time() - t
            D = svc.decision_function(B)
            if D.ndim == 1:
                D = np.column_stack([-D, D])
            ps = svc.classes_[D.argmax(1)]
            cells = [accuracy_score(yte, ps), f1_score(yte, ps, average='macro'),
                     top3(svc.classes_, D, yte), svc_s]
            if len(set(ytr)) <= LR_MAX_CLASSES:
                t = time.time(); lr = LogisticRegression(max_iter=1000).fit(A, ytr); lr_s = time.time() - t
                P = lr.predict_proba(B)
                pl = lr.classes_[P.argmax(1)]
                cells += [accuracy_score(yte, pl), f1_score(yte, pl, average='macro'),
                          top3(lr.classes_, P, yte), ece(P.max(1), pl == yte), lr_s]
            out = [name, field, TEXT, str(seed), str(int(tr.sum())), str(int(te.sum())), str(len(set(y[y != ''])))]
            out += [f'{v:.4f}' for v in cells] + [''] * (9 - len(cells))
            print('\t'.join(out), flush=True)
