from common import *
import pickle
OOF,DEV=pickle.load(open(f"{CD}/stack_oof.pkl","rb"))
def tune(S,y,iters=3,grid=np.linspace(-0.5,0.5,41)):
    b=np.zeros(9)
    for it in range(iters):
        for c in range(9):
            best=(-1,0)
            for g in grid:
                bb=b.copy();bb[c]=g; f=f1_score(y,(S+bb).argmax(1),average='macro')
                if f>best[0]: best=(f,g)
            b[c]=best[1]
    return b,best[0]
for k in ['char_svc','word_svc']:
    b,f=tune(OOF[k],ytr); print(k,'oof tuned',round(f,4),np.round(b,2))
    ev(f"{k} dev raw",DEV[k].argmax(1)); ev(f"{k} dev +oofbias",(DEV[k]+b).argmax(1))
S=OOF['char_svc']+OOF['word_svc']; D=DEV['char_svc']+DEV['word_svc']
ev("char+word sum",D.argmax(1)); b,f=tune(S,ytr); ev("char+word sum +bias",(D+b).argmax(1))
