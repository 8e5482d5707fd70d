import sys, time, os, numpy as np
sys.path.insert(0,'/work/main/research/utterance_coder')
from experiments import load, cached_use
from coder import UtteranceCoder, CoderConfig
from sklearn.metrics import f1_score, accuracy_score
Xtr,ytr=load('train');Xdv,ydv=load('dev')
Utr=cached_use('train',Xtr);Udv=cached_use('dev',Xdv)
for md,sd in [(2,1),(2,2),(2,3)]:
    c=UtteranceCoder(CoderConfig(seed=sd,min_df=md)).fit(Xtr,ytr,embeddings=Utr); p=c.predict(Xdv,embeddings=Udv)
    c.save(f'/tmp/uttcoder_cache/coder_md{md}.pkl')
    print('min_df',md,'seed',sd,round(accuracy_score(ydv,p),4),round(f1_score(ydv,p,average='macro'),4),np.round(f1_score(ydv,p,average=None),3), c.W_char_.shape, c.W_word_.shape, os.path.getsize(f'/tmp/uttcoder_cache/coder_md{md}.pkl'),flush=True)
