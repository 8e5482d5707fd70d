from common import *
import os
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
from sklearn.model_selection import StratifiedKFold
skf=StratifiedKFold(5,shuffle=True,random_state=0)
b=lambda x:["^"+t+"$" for t in x]
vc=TfidfVectorizer(analyzer='char',ngram_range=(1,4),sublinear_tf=True); A=vc.fit_transform(b(Xtr));B=vc.transform(b(Xdv))
# (b) pairwise c-vs-others SVCs
if not os.path.exists(f"{CD}/oof_pair8.npz"):
    o=np.zeros((A.shape[0],8)); d=np.zeros((B.shape[0],8)); t=time.time()
    for tr,te in skf.split(A,ytr):
        for c in range(8):
            idx=tr[(ytr[tr]==c)|(ytr[tr]==8)]
            m=LinearSVC(C=0.5,class_weight='balanced').fit(A[idx],(ytr[idx]==c).astype(int))
            o[te,c]=m.decision_function(A[te]); d[:,c]+=m.decision_function(B)/5
    np.savez(f"{CD}/oof_pair8.npz",oof=o,dev=d); print('pair8',time.time()-t)
# (c) kNN features: per class, mean of top-5 cosine sims (tfidf char and USE)
def knnfeat(Q,R,yr,k=5,excl=False):
    out=np.zeros((Q.shape[0],18))
    for i in range(0,Q.shape[0],1000):
        S=Q[i:i+1000]@R.T
        S=S.toarray() if hasattr(S,'toarray') else S
        for c in range(9):
            Sc=S[:,yr==c]; top=-np.partition(-Sc,k-1,axis=1)[:,:k]
            out[i:i+1000,c]=top.max(1); out[i:i+1000,9+c]=top.mean(1)
    return out
Utr=np.load(f"{CD}/use_train.npy");Udv=np.load(f"{CD}/use_dev.npy")
for name,Ar,Br in [('knn_char',A,B),('knn_use',Utr,Udv)]:
    if os.path.exists(f"{CD}/oof_{name}.npz"): continue
    t=time.time(); o=np.zeros((A.shape[0],18)); d=np.zeros((B.shape[0],18))
    for tr,te in skf.split(A,ytr):
        o[te]=knnfeat(Ar[te],Ar[tr],ytr[tr]); d+=knnfeat(Br,Ar[tr],ytr[tr])/5
    np.savez(f"{CD}/oof_{name}.npz",oof=o,dev=d); print(name,time.time()-t); ev(name+' top1',d[:,:9].argmax(1))
