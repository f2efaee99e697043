"""Interactive widgets: one module per chapter (``chNN_<slug>.py``) on the pattern of
:mod:`course_lib.widgets.base`. Widgets import the math modules, never the reverse."""
