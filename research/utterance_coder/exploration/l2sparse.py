from common import *
import re, sys, lightgbm as lgb, scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.feature_selection import chi2, SelectKBest
def L(n): z=np.load(f"{CD}/oof_{n}.npz"); return z['oof'],z['dev']
def meta(x):
    f=[]
    for s in x:
        f.append([len(s), s.count('，')+s.count(','), s.count('？')+s.count('?'), s.endswith(('？','?')), s.count('。'), len(re.findall(r'[A-Za-z0-9]',s)), len(re.findall(r'[呃嗯啊哈吧呀呢]',s))])
    return np.array(f,float)
Mtr=meta(Xtr);Mdv=meta(Xdv)
Utr=np.load(f"{CD}/use_train.npy");Udv=np.load(f"{CD}/use_dev.npy")
b=lambda x:["^"+t+"$" for t in x]
K=int(sys.argv[1])
cv=CountVectorizer(analyzer='char',ngram_range=(1,4),min_df=5,binary=True); A=cv.fit_transform(b(Xtr)); B=cv.transform(b(Xdv))
sel=SelectKBest(chi2,k=K).fit(A,ytr); A=sel.transform(A).astype(np.float32); B=sel.transform(B).astype(np.float32)
parts=[L('char14_svc'),L('clause')]
Xo=sp.hstack([sp.csr_matrix(np.hstack([p[0] for p in parts]+[Mtr,Utr])),A]).tocsr()
Xd=sp.hstack([sp.csr_matrix(np.hstack([p[1] for p in parts]+[Mdv,Udv])),B]).tocsr()
t=time.time()
m=lgb.LGBMClassifier(n_estimators=400,learning_rate=0.03,num_leaves=31,min_child_samples=20,subsample=0.8,subsample_freq=1,colsample_bytree=0.5,random_state=0,n_jobs=1,verbose=-1).fit(Xo,ytr)
ev(f"L2 svc+clause+meta+use+chi2ngrams{K} ({time.time()-t:.0f}s)",m.predict(Xd))
