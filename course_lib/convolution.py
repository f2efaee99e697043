r"""Convolution arithmetic and the im2col trick, in NumPy (chapter 09).

Layout and argument names are PyTorch's: images are NCHW arrays ``(N, C, H, W)``, a kernel
bank is ``(C_out, C_in, k_h, k_w)``, and ``kernel_size``, ``stride``, ``padding`` and
``dilation`` are an int or an ``(h, w)`` pair.

- :func:`conv_output_size`, :func:`conv_transpose_output_size`: the output length along one
  axis (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning").
- :func:`receptive_field`: how far back one output unit sees, layer after layer, in closed form
  (Araujo, Norris & Sim, "Computing receptive fields of convolutional neural networks", Distill 2019).
- :func:`patches`, :func:`im2col`, :func:`col2im`: every window of an image as a column, and the
  adjoint that adds columns back into an image (Chellapilla, Puri & Simard 2006): a convolution
  becomes one matrix product, its backward pass one matrix product and one ``col2im``.
- :func:`cross_correlate2d`, :func:`convolve2d`: the two operations that the word "convolution"
  names, for one 2-D image and one kernel; deep learning's "convolution" is the first.

The engine's ops (:mod:`course_lib.autograd.conv`) are built on these functions.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["pair", "conv_output_size", "conv_transpose_output_size", "receptive_field", "patches", "im2col",
           "col2im", "fold_patches", "cross_correlate2d", "convolve2d"]


def pair(value, name: str = "argument", minimum: int = 1) -> tuple[int, int]:
    """``value`` as an ``(h, w)`` pair of ints (an int is used for both), each at least ``minimum``."""
    items = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(items) != 2:
        raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or int(v) != v:
            raise TypeError(f"{name} must hold integers, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
        out.append(int(v))
    return out[0], out[1]


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    r"""Length of a convolution's (or pooling's) output along one axis.

    Parameters
    ----------
    n : int
        Input length (height or width), at least 1.
    kernel : int
        Kernel length :math:`k \ge 1`.
    stride : int
        :math:`s \ge 1`.
    padding : int
        :math:`p \ge 0` zeros added on *each* side.
    dilation : int
        :math:`d \ge 1`: the kernel's taps are :math:`d` apart, so it spans :math:`d(k-1)+1` inputs.

    Returns
    -------
    int

    Notes
    -----
    .. math::  n_\text{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    (Dumoulin & Visin 2016, relationship 15): the padded input has :math:`n + 2p` positions, the
    window spans :math:`d(k-1)+1`, so it fits at :math:`n + 2p - d(k-1)` offsets, of which every
    :math:`s`-th is used. Raises ``ValueError`` when the window does not fit even once.
    """
    n = pair(n, "n")[0]
    k, s, d = pair(kernel, "kernel")[0], pair(stride, "stride")[0], pair(dilation, "dilation")[0]
    p = pair(padding, "padding", minimum=0)[0]
    span = d * (k - 1) + 1
    if n + 2 * p < span:
        raise ValueError(f"the kernel spans {span} positions (kernel {k}, dilation {d}) but the padded input has "
                         f"only n + 2p = {n} + 2*{p} = {n + 2 * p}: the output would be empty")
    return (n + 2 * p - span) // s + 1


def conv_transpose_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
                               dilation: int = 1) -> int:
    r"""Length of a transposed convolution's output along one axis (``nn.ConvTranspose2d``).

    Notes
    -----
    .. math::  n_\text{out} = (n - 1)s - 2p + d(k-1) + p_\text{out} + 1

    The inverse map of :func:`conv_output_size`'s: a convolution with the same settings takes
    an input of this length back to :math:`n`. Since that formula floors, several lengths map
    to the same :math:`n`; ``output_padding`` :math:`p_\text{out} < \max(s, d)` picks one of them.
    """
    n, k = pair(n, "n")[0], pair(kernel, "kernel")[0]
    s, d = pair(stride, "stride")[0], pair(dilation, "dilation")[0]
    p, op = pair(padding, "padding", minimum=0)[0], pair(output_padding, "output_padding", minimum=0)[0]
    if op >= max(s, d):
        raise ValueError(f"output_padding must be smaller than the stride or the dilation, got {op} with stride "
                         f"{s} and dilation {d}")
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(f"the transposed convolution's output would have length {out}: the padding {p} removes "
                         f"more than the {out + 2 * p} positions it produces")
    return out


def receptive_field(kernels, strides=None, dilations=None) -> np.ndarray:
    r"""Receptive-field size after each layer of a stack of convolutions or poolings (one axis).

    Parameters
    ----------
    kernels : sequence of int
        :math:`k_1, \dots, k_D`.
    strides, dilations : sequence of int, optional
        :math:`s_\ell` and :math:`d_\ell` (default 1 each).

    Returns
    -------
    ndarray of int, shape (D,)
        :math:`r_\ell`, the number of input positions one unit of layer :math:`\ell` depends on.

    Notes
    -----
    Araujo et al. (Distill 2019), eq. 2, with a dilated kernel's span :math:`d_\ell(k_\ell-1)+1`:

    .. math::  r_D = 1 + \sum_{\ell=1}^{D} d_\ell(k_\ell - 1)\prod_{i=1}^{\ell-1} s_i

    Each layer widens the field by its span minus one, in units of the product of the strides
    below it (the distance in input pixels between neighbouring units of its input). Padding
    does not change the size, only where the field sits.
    """
    k = [pair(v, "kernel")[0] for v in kernels]
    s = [1] * len(k) if strides is None else [pair(v, "stride")[0] for v in strides]
    d = [1] * len(k) if dilations is None else [pair(v, "dilation")[0] for v in dilations]
    if not (len(k) == len(s) == len(d)):
        raise ValueError(f"kernels, strides and dilations need one entry per layer, got {len(k)}, {len(s)}, {len(d)}")
    jumps = np.cumprod([1] + s[:-1])  # prod_{i < l} s_i
    return 1 + np.cumsum([dl * (kl - 1) * j for kl, dl, j in zip(k, d, jumps)], dtype=int)


def _check_image(x: np.ndarray, who: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{who}: expected an NCHW array (N, C, H, W), got shape {x.shape}")
    return x


def patches(x: np.ndarray, kernel_size, stride=1, padding=0, dilation=1, pad_value: float = 0.0) -> np.ndarray:
    r"""Every window of an NCHW batch, as a read-only strided view (no copy except the padding).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)
    pad_value : float
        What the padding holds (0 for convolution, :math:`-\infty` for max-pooling).

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out, k_h, k_w)
        ``out[n, c, i, j, a, b] = x_pad[n, c, i s_h + a d_h, j s_w + b d_w]``, with the output
        sizes of :func:`conv_output_size`.
    """
    x = _check_image(x, "patches")
    (kh, kw), (sh, sw) = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    (ph, pw), (dh, dw) = pair(padding, "padding", minimum=0), pair(dilation, "dilation")
    conv_output_size(x.shape[2], kh, sh, ph, dh), conv_output_size(x.shape[3], kw, sw, pw, dw)  # clear errors
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    windows = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return windows[:, :, ::sh, ::sw, ::dh, ::dw]


def im2col(x: np.ndarray, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    r"""Each window of the image as a column: ``torch.nn.functional.unfold``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)

    Returns
    -------
    ndarray, shape (N, C k_h k_w, L)
        Row index :math:`(c, a, b)` in that order (channel slowest, kernel column fastest, as
        ``weight.reshape(C_out, -1)`` orders a kernel), column index :math:`(i, j)` with
        :math:`L = H_\text{out} W_\text{out}`, row-major over output positions.

    Notes
    -----
    A convolution is then one matrix product per image,
    :math:`\mathbf Y_n = \mathbf W_\text{mat}\,\operatorname{im2col}(\mathbf X)_n + \mathbf b`,
    with :math:`\mathbf W_\text{mat}` of shape :math:`(C_\text{out}, C k_h k_w)`.
    """
    p = patches(x, kernel_size, stride, padding, dilation)
    n, c, oh, ow, kh, kw = p.shape
    return p.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


def fold_patches(grad: np.ndarray, input_shape, stride=1, padding=0, dilation=1) -> np.ndarray:
    r"""The adjoint of :func:`patches`: add every window's values back where the window came from.

    Parameters
    ----------
    grad : ndarray, shape (N, C, H_out, W_out, k_h, k_w)
        Any strides (a transposed view is fine).
    input_shape : tuple (N, C, H, W)
    stride, padding, dilation : int or (int, int)

    Returns
    -------
    ndarray, shape (N, C, H, W)
        :math:`\mathbf G_x[n, c, y, x] = \sum_{(i, a):\, i s_h + a d_h = y + p_h}\ \sum_{(j, b):\, j s_w + b d_w = x + p_w}
        \mathbf G[n, c, i, j, a, b]`.

    Notes
    -----
    One strided slice-add per kernel offset :math:`(a, b)`, :math:`k_h k_w` vectorized adds in
    all (``np.add.at`` over every element would be far slower). Overlapping windows add up,
    which is why the gradient of an input pixel sums over every output that saw it.
    """
    n, c, h, w = input_shape
    _, _, oh, ow, kh, kw = grad.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride, "stride"), pair(padding, "padding", minimum=0), pair(dilation, "dilation")
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad.dtype)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a * dh:a * dh + sh * (oh - 1) + 1:sh, b * dw:b * dw + sw * (ow - 1) + 1:sw] += grad[..., a, b]
    return out[:, :, ph:ph + h, pw:pw + w]


def col2im(cols: np.ndarray, output_size, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    r"""Add columns back into an image: ``torch.nn.functional.fold``, the adjoint (transpose) of :func:`im2col`.

    Parameters
    ----------
    cols : ndarray, shape (N, C k_h k_w, L)
    output_size : int or (int, int)
        The image's ``(H, W)``.
    kernel_size, stride, padding, dilation : int or (int, int)

    Returns
    -------
    ndarray, shape (N, C, H, W)

    Notes
    -----
    For all :math:`\mathbf X` and :math:`\mathbf C`,
    :math:`\langle \operatorname{im2col}(\mathbf X), \mathbf C\rangle = \langle \mathbf X, \operatorname{col2im}(\mathbf C)\rangle`,
    so the gradient of a loss with respect to the image is ``col2im`` of its gradient with respect
    to the columns. ``col2im(im2col(x))`` is *not* ``x``: each pixel comes back multiplied by the
    number of windows it lies in.
    """
    cols = np.asarray(cols)
    (h, w), (kh, kw) = pair(output_size, "output_size"), pair(kernel_size, "kernel_size")
    oh = conv_output_size(h, kh, pair(stride)[0], pair(padding, minimum=0)[0], pair(dilation)[0])
    ow = conv_output_size(w, kw, pair(stride)[1], pair(padding, minimum=0)[1], pair(dilation)[1])
    if cols.ndim != 3 or cols.shape[1] % (kh * kw) or cols.shape[2] != oh * ow:
        raise ValueError(f"col2im: expected columns (N, C*{kh}*{kw}, {oh}*{ow}) for an output of {(h, w)}, "
                         f"got shape {cols.shape}")
    n, c = cols.shape[0], cols.shape[1] // (kh * kw)
    grad = cols.reshape(n, c, kh, kw, oh, ow).transpose(0, 1, 4, 5, 2, 3)
    return fold_patches(grad, (n, c, h, w), stride, padding, dilation)


def cross_correlate2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    r"""'Valid' 2-D cross-correlation of one image with one kernel: what deep learning calls convolution.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    kernel : ndarray, shape (k_h, k_w)

    Returns
    -------
    ndarray, shape (H - k_h + 1, W - k_w + 1)

    Notes
    -----
    .. math::  (\mathbf X \star \mathbf K)_{ij} = \sum_{a, b} X_{i+a,\,j+b}\,K_{ab}
    """
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"expected a 2-D image and a 2-D kernel, got shapes {image.shape} and {kernel.shape}")
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(f"the kernel {kernel.shape} is larger than the image {image.shape}")
    return np.einsum("ijab,ab->ij", sliding_window_view(image, kernel.shape), kernel)


def convolve2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    r"""'Valid' 2-D convolution in the mathematical sense: cross-correlation with the flipped kernel.

    Notes
    -----
    .. math::  (\mathbf X * \mathbf K)_{ij} = \sum_{a, b} X_{i+a,\,j+b}\,K_{k_h-1-a,\;k_w-1-b}

    (0-based indices, output indexed from the window's corner). It is commutative and associative, which
    cross-correlation is not; a learned kernel does not care, since learning can flip it. Equals
    ``scipy.signal.convolve2d(image, kernel, mode="valid")``.
    """
    return cross_correlate2d(image, np.asarray(kernel)[::-1, ::-1])
