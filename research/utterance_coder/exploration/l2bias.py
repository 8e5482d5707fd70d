from common import *
import re, lightgbm as lgb
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold
def L(n): z=np.load(f"{CD}/oof_{n}.npz"); return z['oof'],z['dev']
def meta(x):
    return np.array([[len(s), s.count('，')+s.count(','), s.count('？')+s.count('?'), s.endswith(('？','?')), s.count('。'), len(re.findall(r'[A-Za-z0-9]',s)), len(re.findall(r'[呃嗯啊哈吧呀呢]',s))] for s in x],float)
Utr,Udv=np.load(f"{CD}/use_train.npy"),np.load(f"{CD}/use_dev.npy"); pu=PCA(64,random_state=0).fit(Utr)
q=[L(n) for n in ['char14_svc','word12_svc','clause']]+[(pu.transform(Utr),pu.transform(Udv)),(meta(Xtr),meta(Xdv))]
Xo=np.hstack([a for a,_ in q]);Xd=np.hstack([b for _,b in q])
p=dict(n_estimators=400,learning_rate=0.03,num_leaves=31,min_child_samples=20,subsample=0.8,subsample_freq=1,colsample_bytree=0.5,n_jobs=1,verbose=-1)
O=np.zeros((len(ytr),9))
for tr,te in StratifiedKFold(5,shuffle=True,random_state=1).split(Xo,ytr):
    O[te]=lgb.LGBMClassifier(random_state=0,**p).fit(Xo[tr],ytr[tr]).predict_proba(Xo[te])
print('L2 OOF on train: acc',round(accuracy_score(ytr,O.argmax(1)),4),'mF1',round(f1_score(ytr,O.argmax(1),average='macro'),4))
Pd=lgb.LGBMClassifier(random_state=0,**p).fit(Xo,ytr).predict_proba(Xd)
lo=np.log(O+1e-9); ld=np.log(Pd+1e-9); b=np.zeros(9)
for it in range(3):
    for c in range(9):
        best=(-1,0)
        for g in np.linspace(-1,1,41):
            bb=b.copy();bb[c]=g;f=f1_score(ytr,(lo+bb).argmax(1),average='macro')
            if f>best[0]:best=(f,g)
        b[c]=best[1]
print('bias',np.round(b,2),'oof tuned',round(best[0],4))
ev('L2 dev raw',ld.argmax(1)); ev('L2 dev +oof-tuned bias',(ld+b).argmax(1))
