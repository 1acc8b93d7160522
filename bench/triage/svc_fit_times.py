"""The speed budget of the apache job, measured beside it: LinearSVC fit times of BASELINES.md.

`go run ./bench/triage` compares the whole apache Summary+Description job with the sum of
LinearSVC's fit times on that file's Priority, Component and Assignee (BASELINES.md, measured
on a quiet machine). On a shared machine both figures move with the load, so this script
repeats those three fits (same split, seed 42; TF-IDF word 1-2 grams, sublinear tf, min_df 2;
LinearSVC C=1; the fit alone timed) to be run right after the Go job:

    /usr/bin/python3 bench/triage/svc_fit_times.py [DATA_DIR]

(Debian's python3-sklearn and python3-pandas install for /usr/bin/python3.)
"""
import os, sys, time
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

DIR = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/bugs'
df = pd.read_csv(os.path.join(DIR, 'apache_jira_bugs.csv'), dtype=str, keep_default_na=False)
total = 0.0
for field in ('Priority', 'Component', 'Assignee'):
    d = df[df[field].str.strip() != '']
    X = d[['Summary', 'Description']].agg(' '.join, axis=1).values
    Xtr, Xte, ytr, yte = train_test_split(X, d[field].values, test_size=0.2, random_state=42)
    A = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(Xtr)
    t = time.time()
    LinearSVC(C=1.0).fit(A, ytr)
    took = time.time() - t
    total += took
    print(f'LinearSVC fit apache Summary+Description {field}: {took:.1f} s', flush=True)
print(f'sum of LinearSVC S+D fit times: {total:.1f} s')
