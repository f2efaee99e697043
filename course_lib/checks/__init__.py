"""One module of questions per chapter: ``chNN_<slug>.py``, loaded on first use by
:func:`course_lib.grading.registry.load_chapter`."""
