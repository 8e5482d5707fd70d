import sys, numpy as np
sys.path.insert(0,'/work/main/research/utterance_coder')
from experiments import load, cached_use
from coder import UtteranceCoder
from sklearn.metrics import f1_score, accuracy_score
Xtr,ytr=load('train');Xdv,ydv=load('dev')
c=UtteranceCoder().fit(Xtr,ytr,embeddings=cached_use('train',Xtr)); p=c.predict(Xdv,embeddings=cached_use('dev',Xdv))
print('default CoderConfig():',round(accuracy_score(ydv,p),4),round(f1_score(ydv,p,average='macro'),4))
