"""The course's PyTorch models, one module each (``cnn``, later ``char_rnn``, ``gpt``, ...).

Nothing is imported here: importing ``course_lib.models`` must not import torch. Import the module
that holds a model, ``from course_lib.models.cnn import DigitsCNN``.
"""
