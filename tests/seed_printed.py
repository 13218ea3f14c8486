"""Numbers the seed notebook prints, copied from its text (shared/seed/000_24f6ac1d8da9c922.txt).

Cell numbers are the notebook's `In [n]`. Weight names follow the seed: w_ij joins input i to hidden unit j,
v_jk joins hidden unit j to output k, so W = [[w11, w12], [w21, w22]] and V = [[v11, v12], [v21, v22]].
"""

# cell 2: the weights, and instance 1
W = [[6.0, -3.0], [-2.0, 5.0]]
V = [[1.0, -2.0], [0.25, 2.0]]
x1, t1 = [3.0, 1.0], [1.0, 0.0]
# cell 29: both training instances
X = [[3.0, 1.0], [-1.0, 4.0]]
T = [[1.0, 0.0], [0.0, 1.0]]
lr = 0.5

# Instance 1, forward (cell 2) and error (cell 3), printed with full precision.
h_in = [16.0, -4.0]
h_out = [0.9999998874648379, 0.01798620996209156]
y_in = [1.0044964399553609, -1.9640273550054927]
y_out = [0.7319417133694889, 0.12303185591001443]
e = [-0.2680582866305111, 0.12303185591001443]
loss = 0.08699208  # cell 16, printed to 8 digits

# Instance 1, backward (cells 3-7), printed with full precision.
grad_y_out = [-0.5361165732610222, 0.24606371182002887]
grad_y_in = [-0.10518770232556676, 0.026549048699963138]
grad_v11, grad_v12 = -0.10518769048825163, 0.02654904571226164
grad_v21, grad_v22 = -0.0018919280994576303, 0.0004775167642113309
grad_V = [[grad_v11, grad_v12], [grad_v21, grad_v22]]
grad_h_out = [-0.15828579972549303, 0.026801171818534586]
grad_h_in = [-1.7812716122177433e-08, 0.0004733812240027136]
grad_w11, grad_w12 = -5.34381483665323e-08, 0.0014201436720081408
grad_w21, grad_w22 = -1.7812716122177433e-08, 0.0004733812240027136
grad_W = [[grad_w11, grad_w12], [grad_w21, grad_w22]]
grad_x = [-0.0014202505483048738, 0.0023669417454458123]

# cell 12: PyTorch in float32 gets grad_w11 visibly wrong (printed to 5 digits).
grad_w11_float32 = -5.6607e-08

# cells 23-28: one full-batch SGD step (lr 0.5) on both instances, printed to 8 digits.
losses_before = [0.08699208, 0.33025203]  # cells 25, 26 ("Old loss")
loss_before = 0.41724411  # cell 28
W_after_step = [[6.00000016, -3.00071007], [-2.00000053, 4.99976331]]  # cell 24
V_after_step = [[1.05259373, -2.01327451], [0.11257513, 2.01227682]]
outputs_after_step = [[0.74165987, 0.12162137], [0.52811432, 0.88207988]]  # cells 25, 26
losses_after_step = [0.08153138, 0.29280989]  # cells 25, 26 ("New loss")
loss_after_step = 0.37434126  # cell 28

# cells 29-30: after 200 more epochs on the same net, i.e. 201 updates in all.
outputs_final = [[0.94621368, 0.04892312], [0.05590822, 0.95093023]]
W_final = [[6.00000866, -3.2025047], [-2.00002564, 4.93249844]]
V_final = [[2.89356441, -2.99473202], [-2.82651445, 2.96419993]]
DECIMALS_8 = 1e-8  # numbers printed to 8 decimals agree to within 1e-8 (rounding is 5e-9 at most)
