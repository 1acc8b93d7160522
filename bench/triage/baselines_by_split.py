"""The scikit-learn baselines of BASELINES.md, repeated over many random splits.

BASELINES.md measures each row on one 80/20 split (seed 42). On 500 test rows
one split moves accuracy and macro-F1 by about two points, as much as the
quality gate's tolerances. This script measures the same two baselines
(TF-IDF word 1-2 grams, sublinear tf, min_df 2; LinearSVC C=1 and
LogisticRegression max_iter 1000) on seeds 1..30 and 42 of the gated rows that
are small enough to repeat, and writes one line per row and seed. `go run
./bench/triage -splits FILE` then trains bugflow's model on the same splits and
prints how often each model passes the gate.

Run: /usr/bin/python3 bench/triage/baselines_by_split.py [DATA_DIR] > bench/triage/splits.tsv
(needs Debian's python3-sklearn and python3-pandas)
"""
import os, sys, warnings
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

warnings.filterwarnings('ignore')
DIR = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/bugs'
ROWS = [('gitbugs_hadoop.csv', field, text)
        for field in ('Priority', 'Status')
        for text in ('Summary', 'Summary+Description')]
SEEDS = list(range(1, 31)) + [42]

print('file\tfield\ttext\tseed\tsvc_acc\tsvc_f1\tlr_acc\tlr_f1')
for name, field, text in ROWS:
    df = pd.read_csv(os.path.join(DIR, name), dtype=str, keep_default_na=False)
    d = df[df[field].str.strip() != '']
    X = d[text.split('+')].agg(' '.join, axis=1).values
    y = d[field].values
    for seed in SEEDS:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed)
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        A, B = vec.fit_transform(Xtr), vec.transform(Xte)
        cells = []
        for clf in (LinearSVC(C=1.0), LogisticRegression(max_iter=1000)):
            p = clf.fit(A, ytr).predict(B)
            cells += [accuracy_score(yte, p), f1_score(yte, p, average='macro')]
        print('\t'.join([name, field, text, str(seed)] + [f'{v:.4f}' for v in cells]), flush=True)
