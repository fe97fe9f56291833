"""Safe Delta on one linear layer (Lu et al., "Safe Delta: Consistently Preserving Safety
when Fine-Tuning LLMs on Diverse Datasets", arXiv 2505.12038, ICML 2025, Sec. 4).

Written for this project because no library implements it; the semantics follow the paper
and its official code (github ColinLu50/SafeDelta, ``llama2/safedelta/safedelta_runner.py``,
itself shaped after SparseGPT's OBS solver). Symbols as in the paper:

- ``W``      (d_out, d_in)  aligned weight, ``W_sft`` the fine-tuned one, ``delta = W_sft - W``
- ``X``      (d_in, T)      the layer's inputs on one safety sample (T tokens)
- ``H``      (d_in, d_in)   safety Hessian  H = 2/N sum_n X_n X_n^T            (Sec. 4.1)
- ``U``      (d_in, d_in)   upper Cholesky factor of H^-1 (H^-1 = U^T U), after conditioning
- ``kappa``  (d_in,)        per-column safety curvature  kappa_j = 1 / U_jj^2  (Eq. 6)
- ``s``                     the safety budget scale

Per block of B = 2048 input columns (Sec. 4.2, "budgeted selection"):

1. cost of delta entry (i, j):  c_ij = (W_sft - W)_ij^2 * kappa_j, where W already holds the
   compensation of earlier blocks (Eq. 6: the safety loss of moving that entry alone);
2. entries are ordered by kappa ascending (cheapest directions first); the 15% with the
   largest kappa are never selected;
3. budget  b = mean_j(kappa_j) * (s / 2) * (d_out / 4096)  (the official code's constants:
   s/2 because 4096 / B = 2, and d_out/4096 normalises to Llama-2-7b's width);
4. the longest prefix of the ordered entries whose cumulative cost stays <= b is selected.

Then the safety compensation vector (Sec. 4.3, "SCV"): selected entries take W_sft exactly;
the change e_j = (W_j - Q_j) / U_jj of each column is propagated to the later columns,
W_k -= e_j U_jk (the OBS update, Eq. 8), in sub-blocks of 4 columns (no propagation inside
a sub-block, as the official code) with lazy batched updates to the rest of the matrix.
Unselected entries end as W plus compensation. ``compensate=False`` is the paper's
"w/o SCV" ablation (Exp. 8): same selection, unselected entries keep W.
"""

from __future__ import annotations

import torch

BLOCK = 2048  # B: input columns per selection block
SUBBLOCK = 4  # columns updated together inside a block
CHUNK = 128  # columns between lazy updates of the rest of a block (speed only)
EXCLUDE = 0.15  # share of a block's entries (largest kappa) never selected
PERCDAMP = 0.01  # dampening: H += 0.01 * mean(diag H) * I


class HessianAccumulator:
    """Running H = 2/N sum_n X_n X_n^T over N samples, in fp32 (Sec. 4.1).

    ``add(x)`` takes one sample's inputs to the layer, shape (T, d_in), real tokens only
    (padding never contributes). Rescaling keeps H the mean as samples arrive, as SparseGPT.
    """

    def __init__(self, d_in: int, device: torch.device | str = "cpu"):
        self.H = torch.zeros(d_in, d_in, dtype=torch.float32, device=device)  # (d_in, d_in)
        self.nsamples = 0

    def add(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).float()  # (T, d_in)
        self.H *= self.nsamples / (self.nsamples + 1)
        self.nsamples += 1
        x = x * (2.0 / self.nsamples) ** 0.5
        self.H.addmm_(x.T, x)  # H += 2/N x^T x


def inverse_cholesky(H: torch.Tensor, percdamp: float = PERCDAMP) -> torch.Tensor:
    """U, the upper Cholesky factor of the conditioned H^-1 (H^-1 = U^T U).

    Conditioning (official code): a zero diagonal entry (an input never active) becomes 1,
    then H += percdamp * mean(diag H) * I, which also makes a merely semi-definite H
    positive definite.
    """
    H = H.to(torch.float32).clone()  # (d_in, d_in)
    diag = torch.arange(H.shape[0], device=H.device)
    dead = H[diag, diag] == 0
    H[diag[dead], diag[dead]] = 1.0
    H[diag, diag] += percdamp * H[diag, diag].mean()
    L = torch.linalg.cholesky(H)  # H = L L^T
    Hinv = torch.cholesky_inverse(L)  # H^-1
    return torch.linalg.cholesky(Hinv, upper=True)  # H^-1 = U^T U


def select(W: torch.Tensor, W_sft: torch.Tensor, kappa: torch.Tensor, s: float, d_out: int,
           exclude: float = EXCLUDE) -> torch.Tensor:
    """Budgeted selection on one block (steps 1-4 above); returns the boolean mask (d_out, b).

    ``W``, ``W_sft``: (d_out, b) the block; ``kappa``: (b,) per column. kappa is constant
    down a column, so ordering the entries by kappa is ordering the columns (ties: lower
    column first, then lower row; the official argsort leaves ties unspecified) and
    reading each column top to bottom: one sort of b values, not of d_out * b.
    """
    cost = (W_sft - W) ** 2 * kappa[None, :]  # (d_out, b)  Eq. 6
    columns = torch.argsort(kappa, stable=True)  # (b,) cheapest safety directions first
    ordered = cost[:, columns].T.reshape(-1)  # (b * d_out,) entries in selection order
    n = ordered.numel() - int(exclude * ordered.numel())  # the 15% largest kappa are never selected
    budget = kappa.mean() * (s / 2) * (d_out / 4096)
    keep = torch.zeros_like(ordered, dtype=torch.bool)
    keep[:n] = torch.cumsum(ordered[:n], dim=0) <= budget  # the longest affordable prefix
    mask = torch.empty_like(cost, dtype=torch.bool)
    mask[:, columns] = keep.view(-1, cost.shape[0]).T
    return mask


@torch.no_grad()
def safe_delta(W: torch.Tensor, W_sft: torch.Tensor, U: torch.Tensor, s: float, compensate: bool = True,
               block: int = BLOCK, subblock: int = SUBBLOCK, chunk: int = CHUNK) -> torch.Tensor:
    """The Safe Delta weight of one linear layer, fp32, shape of ``W`` (d_out, d_in).

    ``U`` is :func:`inverse_cholesky` of the layer's safety Hessian. The OBS updates are
    applied lazily at two levels: inside a ``chunk`` of columns after every sub-block, to the
    rest of the selection block after every chunk, and to the later blocks after every block.
    Each column receives every earlier update before it is used, so the result equals the
    update-everything-at-once order up to float rounding; ``chunk=block`` is the official
    code's layout, the default is faster on CPU and GPU alike.
    """
    if chunk % subblock or block % subblock:
        raise ValueError(f"chunk={chunk} and block={block} must be multiples of subblock={subblock}")
    W = W.to(torch.float32).clone()  # (d_out, d_in), receives the compensation as we go
    W_sft = W_sft.to(W)
    U = U.to(W)
    d_out, d_in = W.shape
    for i1 in range(0, d_in, block):
        i2 = min(i1 + block, d_in)
        W1, U1 = W[:, i1:i2].clone(), U[i1:i2, i1:i2]  # (d_out, b), (b, b)
        d = torch.diagonal(U1)  # (b,)  U_jj
        mask = select(W1, W_sft[:, i1:i2], 1.0 / d**2, s, d_out)  # kappa_j = 1 / U_jj^2
        if not compensate:  # w/o SCV: selected entries := W_sft, the rest keep W
            W[:, i1:i2] = torch.where(mask, W_sft[:, i1:i2], W1)
            continue
        E1 = torch.zeros_like(W1)  # (d_out, b) scaled changes e_j
        for c1 in range(0, i2 - i1, chunk):
            c2 = min(c1 + chunk, i2 - i1)
            for j1 in range(c1, c2, subblock):
                j2 = min(j1 + subblock, c2)
                w = W1[:, j1:j2]
                q = torch.where(mask[:, j1:j2], W_sft[:, i1 + j1:i1 + j2], w)  # selected entries := W_sft
                E1[:, j1:j2] = (w - q) / d[j1:j2]  # e_j = (W_j - Q_j) / U_jj
                W1[:, j1:j2] = q
                W1[:, j2:c2] -= E1[:, j1:j2] @ U1[j1:j2, j2:c2]  # OBS update inside the chunk (Eq. 8)
            W1[:, c2:] -= E1[:, c1:c2] @ U1[c1:c2, c2:]  # lazy update of the rest of the block
        W[:, i1:i2] = W1
        W[:, i2:] -= E1 @ U[i1:i2, i2:]  # lazy update of the later blocks
    return W


def quadratic_cost(delta: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """The safety loss of a weight change under H: sum_i delta_i H delta_i^T (Sec. 4.1)."""
    return torch.einsum("ij,jk,ik->", delta.double(), H.double(), delta.double())
