from common import *
import re, lightgbm as lgb
from sklearn.decomposition import PCA
def L(n): z=np.load(f"{CD}/oof_{n}.npz"); return z['oof'],z['dev']
def meta(x):
    return np.array([[len(s), s.count('，')+s.count(','), s.count('？')+s.count('?'), s.endswith(('？','?')), s.count('。'), len(re.findall(r'[A-Za-z0-9]',s)), len(re.findall(r'[呃嗯啊哈吧呀呢]',s))] for s in x],float)
Ftr=np.load(f"{CD}/usei_train.npy").astype(np.float32)[:,:1280];Fdv=np.load(f"{CD}/usei_dev.npy").astype(np.float32)[:,:1280]
Utr,Udv=np.load(f"{CD}/use_train.npy"),np.load(f"{CD}/use_dev.npy")
parts=[L(n) for n in ['char14_svc','word12_svc','clause']]+[(meta(Xtr),meta(Xdv))]
p=dict(n_estimators=400,learning_rate=0.03,num_leaves=31,min_child_samples=20,subsample=0.8,subsample_freq=1,colsample_bytree=0.5,n_jobs=1,verbose=-1)
pf=PCA(64,random_state=0).fit(Ftr); pu=PCA(64,random_state=0).fit(Utr)
for nm,extra in [('useiMeanPCA64',[(pf.transform(Ftr),pf.transform(Fdv))]),('usePCA64+useiMeanPCA64',[(pu.transform(Utr),pu.transform(Udv)),(pf.transform(Ftr),pf.transform(Fdv))])]:
    q=parts+extra; Xo=np.hstack([a for a,_ in q]);Xd=np.hstack([b for _,b in q])
    for seed in [0,1]:
        m=lgb.LGBMClassifier(random_state=seed,**p).fit(Xo,ytr); ev(f"L2 base3+meta+{nm} seed={seed}",m.predict(Xd))
