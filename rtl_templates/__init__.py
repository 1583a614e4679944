"""The RTL templates (Jinja2 ``*.j2``) of :mod:`neurohw.templates`, installed as package data
of ``neurohw.rtl_templates``: a package only so that :mod:`importlib.resources` finds them."""
