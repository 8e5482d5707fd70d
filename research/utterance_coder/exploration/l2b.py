from common import *
import re, sys, lightgbm as lgb, json
def L(n): z=np.load(f"{CD}/oof_{n}.npz"); return z['oof'],z['dev']
def meta(x):
    f=[]
    for s in x:
        f.append([len(s), s.count('，')+s.count(','), s.count('？')+s.count('?'), s.endswith(('？','?')), s.count('。'), len(re.findall(r'[A-Za-z0-9]',s)), len(re.findall(r'[呃嗯啊哈吧呀呢]',s))])
    return np.array(f,float)
M=(meta(Xtr),meta(Xdv)); U=(np.load(f"{CD}/use_train.npy"),np.load(f"{CD}/use_dev.npy"))
names=sys.argv[1].split(','); cfg=json.loads(sys.argv[2]) if len(sys.argv)>2 else {}
parts=[L(n) for n in names]+[M]+([U] if cfg.pop('use',1) else [])
seeds=cfg.pop('seeds',1)
p=dict(n_estimators=400,learning_rate=0.03,num_leaves=31,min_child_samples=20,subsample=0.8,subsample_freq=1,colsample_bytree=0.5,n_jobs=1,verbose=-1); p.update(cfg)
Xo=np.hstack([q[0] for q in parts]);Xd=np.hstack([q[1] for q in parts])
t=time.time(); P=0
for s in range(seeds):
    m=lgb.LGBMClassifier(random_state=s,**p).fit(Xo,ytr); P=P+m.predict_proba(Xd)
ev(f"L2 {'+'.join(names)} {cfg} s={seeds} ({time.time()-t:.0f}s)",P.argmax(1))
np.save(f"{CD}/l2dev_{abs(hash(sys.argv[1]+str(sys.argv[2:])))%10**6}.npy",P/seeds)
