from common import *
import pickle
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
OOF,DEV=pickle.load(open(f"{CD}/stack_oof.pkl","rb"))
S=OOF['char_svc']+OOF['word_svc']
b=lambda x:["^"+t+"$" for t in x]
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); A=vc.fit_transform(b(Xtr));B=vc.transform(b(Xdv))
own=S[np.arange(len(ytr)),ytr]; best=S.max(1); margin=own-best  # <=0; 0 if predicted correctly
for thr in [-0.5,-1.0,-1.5]:
    keep=margin>thr
    print('drop',(~keep).sum())
    ev(f"clean thr={thr} char14 C=0.5 bal", LinearSVC(C=0.5,class_weight='balanced').fit(A[keep],ytr[keep]).predict(B))
# relabel instead of drop
for thr in [-1.0]:
    y2=ytr.copy(); m=margin<=thr; y2[m]=S[m].argmax(1)
    ev(f"relabel thr={thr}", LinearSVC(C=0.5,class_weight='balanced').fit(A,y2).predict(B))
