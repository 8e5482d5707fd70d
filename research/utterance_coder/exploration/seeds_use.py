import sys, time, numpy as np
sys.path.insert(0,'/work/main/research/utterance_coder')
from experiments import load, cached_use
from coder import UtteranceCoder, CoderConfig
from sklearn.metrics import f1_score, accuracy_score
Xtr,ytr=load('train');Xdv,ydv=load('dev')
Utr=cached_use('train',Xtr);Udv=cached_use('dev',Xdv)
for s in [3]:
    c=UtteranceCoder(CoderConfig(seed=s)).fit(Xtr,ytr,embeddings=Utr); p=c.predict(Xdv,embeddings=Udv)
    print('USE seed',s,round(accuracy_score(ydv,p),4),round(f1_score(ydv,p,average='macro'),4),np.round(f1_score(ydv,p,average=None),3),flush=True)
