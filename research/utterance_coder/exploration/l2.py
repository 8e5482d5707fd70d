from common import *
import re, sys, lightgbm as lgb
def L(n): z=np.load(f"{CD}/oof_{n}.npz"); return z['oof'],z['dev']
def meta(x):
    f=[]
    for s in x:
        f.append([len(s), s.count('，')+s.count(','), s.count('？')+s.count('?'), s.endswith(('？','?')), s.count('。'), len(re.findall(r'[A-Za-z0-9]',s)), len(re.findall(r'[呃嗯啊哈吧呀呢]',s))])
    return np.array(f,float)
Mtr=meta(Xtr);Mdv=meta(Xdv)
Utr=np.load(f"{CD}/use_train.npy");Udv=np.load(f"{CD}/use_dev.npy")
def run(name,parts,n=400,lr=0.03,leaves=31,seed=0):
    Xo=np.hstack([p[0] for p in parts]);Xd=np.hstack([p[1] for p in parts])
    m=lgb.LGBMClassifier(n_estimators=n,learning_rate=lr,num_leaves=leaves,min_child_samples=20,subsample=0.8,subsample_freq=1,colsample_bytree=0.5,random_state=seed,n_jobs=1,verbose=-1).fit(Xo,ytr)
    P=m.predict_proba(Xd); ev(f"L2 {name} n={n} lr={lr} lv={leaves}",P.argmax(1)); return P
names=sys.argv[1].split(',')
parts=[L(n) for n in names]
M=(Mtr,Mdv); U=(Utr,Udv)
run('+'.join(names)+'+meta',parts+[M])
run('+'.join(names)+'+meta+use',parts+[M,U])
