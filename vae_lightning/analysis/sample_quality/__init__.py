"""How good a model's samples are: FID, precision and recall, and class balance, all measured on the features of an
in-domain classifier trained on the data's training split (`feature_network.py`)."""
