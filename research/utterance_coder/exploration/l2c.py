from common import *
import re, sys, lightgbm as lgb
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from sklearn.neural_network import MLPClassifier
def L(n): z=np.load(f"{CD}/oof_{n}.npz"); return z['oof'],z['dev']
def meta(x):
    f=[]
    for s in x:
        f.append([len(s), s.count('，')+s.count(','), s.count('？')+s.count('?'), s.endswith(('？','?')), s.count('。'), len(re.findall(r'[A-Za-z0-9]',s)), len(re.findall(r'[呃嗯啊哈吧呀呢]',s))])
    return np.array(f,float)
Mtr,Mdv=meta(Xtr),meta(Xdv); Utr,Udv=np.load(f"{CD}/use_train.npy"),np.load(f"{CD}/use_dev.npy")
parts=[L(n) for n in ['char14_svc','word12_svc','clause']]
So=np.hstack([q[0] for q in parts]);Sd=np.hstack([q[1] for q in parts])
p=dict(n_estimators=400,learning_rate=0.03,num_leaves=31,min_child_samples=20,subsample=0.8,subsample_freq=1,colsample_bytree=0.5,n_jobs=1,verbose=-1)
for k in [32,64,128]:
    pca=PCA(k,random_state=0).fit(Utr)
    Xo=np.hstack([So,Mtr,pca.transform(Utr)]);Xd=np.hstack([Sd,Mdv,pca.transform(Udv)])
    t=time.time(); m=lgb.LGBMClassifier(random_state=0,**p).fit(Xo,ytr); ev(f"L2 lgbm usePCA{k} ({time.time()-t:.0f}s)",m.predict(Xd))
Xo=np.hstack([So,np.log1p(Mtr),Utr]);Xd=np.hstack([Sd,np.log1p(Mdv),Udv]); s=StandardScaler().fit(Xo)
for h,a in [(128,1e-2),(256,1e-1)]:
    t=time.time(); m=MLPClassifier((h,),alpha=a,early_stopping=True,random_state=0,max_iter=200).fit(s.transform(Xo),ytr); ev(f"L2 mlp h={h} a={a} ({time.time()-t:.0f}s)",m.predict(s.transform(Xd)))
