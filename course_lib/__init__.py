"""Deep Learning Math: the tested helper package behind the notebook course.

The package is layered like the course (see README, "Maintainer guide"):

- ``course``            the chapter map and where the course lives on disk
- ``linalg``            chapter 01: linear algebra helpers
- ``gradcheck``         the one shared gradient checker (central differences, float64)
- ``calculus``, ``surfaces``                  chapter 02
- ``probability``, ``metrics``, ``uncertainty``, ``calibration``, ``evaluation_experiment``  chapter 03
- ``activations``, ``losses``, ``approximation``  chapter 04
- ``autograd``          chapter 05: the tensor reverse-mode engine the later chapters train with
- ``optim``             chapter 06: optimizers and schedules with torch.optim's surface
- ``regularization``, ``regularization_layers``, ``regularization_experiment``  chapter 07
- ``landscapes``, ``mode_connectivity``, ``curvature``, ``net_objective``, ``landscape_experiment``  chapter 08
- ``convolution``, ``cnn_experiment``         chapter 09 (engine ops in ``autograd.conv``)
- ``corpus``, ``ngram``  chapters 10-11: the character corpus and its n-gram baselines
- ``recurrent``         chapter 10 (engine cells in ``autograd.recurrent``)
- ``attention``, ``engine_gpt``, ``hardware``  chapter 11 (engine ops in ``autograd.attention``)
- ``generative``        chapter 12
- ``graphs``, ``neural_ode``  chapter 13 (engine op in ``autograd.gcn``)
- ``robustness``, ``explain``, ``transfer``  chapter 14
- ``scaling``, ``roofline``, ``precision``, ``data_parallel``  chapter 15
- ``models``            the PyTorch models of the GPU-tier chapters (imported only where used)
- ``device``            device and size-preset choice for the PyTorch chapters
- ``widgets``           compute functions + thin views (imports the math, never the reverse)
- ``grading``           ``check()``, the question registry and the notebook grader
- ``checks``            one module of questions per chapter, registered by question id
- ``authoring``         generates exercises from solutions
- ``cli``               the ``course`` command

Importing ``course_lib`` is cheap: nothing heavy (torch, matplotlib) is imported here.
"""

__version__ = "0.1.0"


def check(qid, submission):
    """Check a learner's answer to question ``qid`` and display the result.

    A thin alias of :func:`course_lib.grading.check.check`, so notebooks can write
    ``from course_lib import check``.
    """
    from course_lib.grading.check import check as _check

    return _check(qid, submission)
