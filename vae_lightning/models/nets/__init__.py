"""Network building blocks: the convolutional encoder and decoder, conditioning on labels, the FactorVAE
discriminator, and the sub-pixel output layer used for evaluation."""
